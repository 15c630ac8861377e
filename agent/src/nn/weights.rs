//! Named tensors ⇄ safetensors bytes (f32, f64, i64, u8), with string metadata.

use crate::error::{AgentError, Result};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

fn kind_dtype(k: Kind) -> Option<Dtype> {
    Some(match k {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Int64 => Dtype::I64,
        Kind::Uint8 => Dtype::U8,
        _ => return None,
    })
}

/// Converts a safetensors view into a CPU tensor (copy). Errors on unsupported dtypes.
pub fn view_to_tensor(view: &TensorView<'_>) -> std::result::Result<Tensor, String> {
    let kind = match view.dtype() {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::I64 => Kind::Int64,
        Dtype::U8 => Kind::Uint8,
        d => return Err(format!("unsupported dtype {d:?}")),
    };
    let shape: Vec<i64> = view.shape().iter().map(|&s| s as i64).collect();
    Tensor::f_from_data_size(view.data(), &shape, kind).map_err(|e| e.to_string())
}

/// Serialises `tensors` (any device; copied to the host) with `metadata`.
pub fn to_bytes(tensors: &[(String, Tensor)], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let mut blobs = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let t = t.detach().to_device(Device::Cpu).contiguous();
        let dtype = kind_dtype(t.kind()).ok_or_else(|| AgentError::Weights {
            source_name: "<bytes>".into(),
            reason: format!("tensor `{name}` has unsupported kind {:?}", t.kind()),
        })?;
        let n = t.numel() * t.kind().elt_size_in_bytes();
        let mut buf = vec![0u8; n];
        t.f_copy_data_u8(&mut buf, t.numel())?;
        let shape: Vec<usize> = t.size().iter().map(|&s| s as usize).collect();
        blobs.push((name.clone(), dtype, shape, buf));
    }
    let views = blobs
        .iter()
        .map(|(n, d, s, b)| {
            TensorView::new(*d, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| AgentError::Weights { source_name: "<bytes>".into(), reason: e.to_string() })
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| AgentError::Weights { source_name: "<bytes>".into(), reason: e.to_string() })
}

/// Parsed safetensors: tensors on the CPU and metadata.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Tensors by name.
    pub tensors: HashMap<String, Tensor>,
    /// Metadata.
    pub metadata: HashMap<String, String>,
}

impl Loaded {
    /// A tensor by name (shallow clone).
    pub fn get(&self, name: &str) -> Option<Tensor> {
        self.tensors.get(name).map(Tensor::shallow_clone)
    }
    /// A metadata value parsed as `T`; errors name the key.
    pub fn meta<T: std::str::FromStr>(&self, source: &str, key: &str) -> Result<T> {
        self.metadata.get(key).and_then(|v| v.parse().ok()).ok_or_else(|| AgentError::Weights {
            source_name: source.into(),
            reason: format!("metadata `{key}` missing or malformed"),
        })
    }
}

/// Parses safetensors bytes. `source` names them in errors.
pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Loaded> {
    let err = |reason: String| AgentError::Weights { source_name: source.into(), reason };
    let st = SafeTensors::deserialize(bytes).map_err(|e| err(e.to_string()))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| err(e.to_string()))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let t = view_to_tensor(&view).map_err(|r| err(format!("{name}: {r}")))?;
        tensors.insert(name, t);
    }
    Ok(Loaded { tensors, metadata: meta.metadata().clone().unwrap_or_default() })
}
