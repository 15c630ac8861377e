//! Columns of a LeRobot table as Arrow arrays, written to and read from parquet.
//!
//! Vectors (`shape = [n]`, n > 1) are `fixed_size_list<float32>[n]` (what Hugging Face `datasets` writes for a
//! `Sequence` of known length); `shape = [1]` features are plain scalar columns (`datasets.Value`). Readers accept
//! `list`, `large_list` and `fixed_size_list` of float32 or float64, and any integer or float width for scalars.

use crate::error::{DatasetError, Result, arrow_err, io_err, pq_err};
use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt8Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// One column being built.
#[derive(Debug)]
pub enum Column {
    /// `fixed_size_list<float32>[dim]`.
    F32Vec { dim: usize, values: Vec<f32> },
    /// `float32`.
    F32(Vec<f32>),
    /// `int64`.
    I64(Vec<i64>),
    /// `bool`.
    Bool(Vec<bool>),
    /// `list<string>`.
    StrList(Vec<Vec<String>>),
    /// `string`.
    Str(Vec<String>),
    /// `float64`.
    F64(Vec<f64>),
}

impl Column {
    fn data_type(&self) -> DataType {
        match self {
            Column::F32Vec { dim, .. } => {
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), *dim as i32)
            }
            Column::F32(_) => DataType::Float32,
            Column::I64(_) => DataType::Int64,
            Column::Bool(_) => DataType::Boolean,
            Column::StrList(_) => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            Column::Str(_) => DataType::Utf8,
            Column::F64(_) => DataType::Float64,
        }
    }

    fn to_array(&self) -> ArrayRef {
        match self {
            Column::F32Vec { dim, values } => {
                let mut b = FixedSizeListBuilder::with_capacity(
                    Float32Builder::with_capacity(values.len()),
                    *dim as i32,
                    values.len() / dim.max(&1),
                );
                for row in values.chunks_exact((*dim).max(1)) {
                    b.values().append_slice(row);
                    b.append(true);
                }
                Arc::new(b.finish())
            }
            Column::F32(v) => Arc::new(arrow_array::Float32Array::from(v.clone())),
            Column::I64(v) => Arc::new(arrow_array::Int64Array::from(v.clone())),
            Column::Bool(v) => Arc::new(arrow_array::BooleanArray::from(v.clone())),
            Column::StrList(v) => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for row in v {
                    for s in row {
                        b.values().append_value(s);
                    }
                    b.append(true);
                }
                Arc::new(b.finish())
            }
            Column::Str(v) => Arc::new(arrow_array::StringArray::from(v.clone())),
            Column::F64(v) => Arc::new(arrow_array::Float64Array::from(v.clone())),
        }
    }

    /// Adds every row of a numeric column to `stats` (strings are skipped: they have no statistics).
    pub fn push_rows_to(&self, stats: &mut crate::stats::NumericStats) {
        match self {
            Column::F32Vec { dim, values } => {
                for row in values.chunks_exact((*dim).max(1)) {
                    stats.push(&row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
                }
            }
            Column::F32(v) => v.iter().for_each(|&x| stats.push(&[f64::from(x)])),
            Column::F64(v) => v.iter().for_each(|&x| stats.push(&[x])),
            Column::I64(v) => v.iter().for_each(|&x| stats.push(&[x as f64])),
            Column::Bool(v) => v.iter().for_each(|&x| stats.push(&[f64::from(u8::from(x))])),
            Column::StrList(_) | Column::Str(_) => {}
        }
    }

    /// Empties the column, keeping its kind.
    pub fn clear(&mut self) {
        match self {
            Column::F32Vec { values, .. } => values.clear(),
            Column::F32(v) => v.clear(),
            Column::I64(v) => v.clear(),
            Column::Bool(v) => v.clear(),
            Column::StrList(v) => v.clear(),
            Column::Str(v) => v.clear(),
            Column::F64(v) => v.clear(),
        }
    }
}

/// Named columns in order; turned into one record batch.
#[derive(Debug, Default)]
pub struct Columns {
    /// `(name, column)` in schema order.
    pub cols: Vec<(String, Column)>,
}

impl Columns {
    /// Adds a column.
    pub fn add(&mut self, name: impl Into<String>, col: Column) {
        self.cols.push((name.into(), col));
    }

    /// The Arrow schema of these columns, with `metadata` (e.g. pandas' index description).
    pub fn schema(&self, metadata: HashMap<String, String>) -> Arc<Schema> {
        let fields: Vec<Field> = self.cols.iter().map(|(n, c)| Field::new(n, c.data_type(), true)).collect();
        Arc::new(Schema::new_with_metadata(fields, metadata))
    }

    /// One record batch of every column.
    pub fn batch(&self, schema: &Arc<Schema>, file: &Path) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.cols.iter().map(|(_, c)| c.to_array()).collect();
        RecordBatch::try_new(schema.clone(), arrays).map_err(arrow_err(file))
    }

    /// Empties every column.
    pub fn clear(&mut self) {
        for (_, c) in &mut self.cols {
            c.clear();
        }
    }
}

/// A parquet file written one row group at a time (snappy, as pandas writes).
pub struct TableWriter {
    path: std::path::PathBuf,
    schema: Arc<Schema>,
    writer: ArrowWriter<std::fs::File>,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter").field("path", &self.path).finish()
    }
}

impl TableWriter {
    /// Creates `path` with `schema`.
    pub fn create(path: &Path, schema: Arc<Schema>) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(io_err("create", path))?;
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(pq_err(path))?;
        Ok(Self { path: path.to_path_buf(), schema, writer })
    }

    /// Writes `cols` as one row group.
    pub fn write_row_group(&mut self, cols: &Columns) -> Result<()> {
        let batch = cols.batch(&self.schema, &self.path)?;
        self.writer.write(&batch).map_err(pq_err(&self.path))?;
        self.writer.flush().map_err(pq_err(&self.path))
    }

    /// Bytes written so far (approximately: row groups flushed).
    pub fn bytes_written(&self) -> usize {
        self.writer.bytes_written()
    }

    /// Writes the footer and syncs the file.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let file = self.writer.into_inner().map_err(pq_err(&path))?;
        file.sync_all().map_err(io_err("sync", &path))
    }
}

/// Writes `cols` as one parquet file.
pub fn write_table(path: &Path, cols: &Columns, metadata: HashMap<String, String>) -> Result<()> {
    let mut w = TableWriter::create(path, cols.schema(metadata))?;
    w.write_row_group(cols)?;
    w.finish()
}

/// Every record batch of a parquet file.
pub fn read_table(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).map_err(io_err("open", path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(pq_err(path))?
        .with_batch_size(8192)
        .build()
        .map_err(pq_err(path))?;
    reader.map(|b| b.map_err(arrow_err(path))).collect()
}

fn column<'a>(batch: &'a RecordBatch, file: &Path, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| DatasetError::Column {
        file: file.to_path_buf(),
        column: name.to_string(),
        what: format!(
            "missing (the table has: {})",
            batch.schema().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
        ),
    })
}

fn col_err(file: &Path, name: &str, what: String) -> DatasetError {
    DatasetError::Column { file: file.to_path_buf(), column: name.to_string(), what }
}

/// Whether `batch` has a column `name`.
pub fn has(batch: &RecordBatch, name: &str) -> bool {
    batch.column_by_name(name).is_some()
}

/// A vector column as rows of `dim` float32 (`dim` checked against every row).
pub fn read_f32_vec(batch: &RecordBatch, file: &Path, name: &str, dim: usize) -> Result<Vec<f32>> {
    let a = column(batch, file, name)?;
    let (values, lengths): (ArrayRef, Vec<usize>) = match a.data_type() {
        DataType::FixedSizeList(_, n) => {
            let l = a.as_fixed_size_list();
            (l.values().clone(), vec![*n as usize; l.len()])
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            (l.values().clone(), l.offsets().windows(2).map(|w| (w[1] - w[0]) as usize).collect())
        }
        DataType::LargeList(_) => {
            let l = a.as_list::<i64>();
            (l.values().clone(), l.offsets().windows(2).map(|w| (w[1] - w[0]) as usize).collect())
        }
        DataType::Float32 | DataType::Float64 if dim == 1 => {
            return read_f32(batch, file, name);
        }
        other => return Err(col_err(file, name, format!("is {other}, expected a list of {dim} floats"))),
    };
    if let Some((row, &n)) = lengths.iter().enumerate().find(|(_, n)| **n != dim) {
        return Err(col_err(file, name, format!("has {n} values in row {row}; the cell expects {dim}")));
    }
    let flat: Vec<f32> = match values.data_type() {
        DataType::Float32 => values.as_primitive::<Float32Type>().values().to_vec(),
        DataType::Float64 => values.as_primitive::<Float64Type>().values().iter().map(|&v| v as f32).collect(),
        other => return Err(col_err(file, name, format!("holds {other}, expected float32 or float64"))),
    };
    Ok(flat)
}

/// A scalar column as float32 (from any float or integer type).
pub fn read_f32(batch: &RecordBatch, file: &Path, name: &str) -> Result<Vec<f32>> {
    Ok(read_f64(batch, file, name)?.into_iter().map(|v| v as f32).collect())
}

/// A scalar column as float64 (from any float, integer or bool type; a one-value list counts as a scalar).
pub fn read_f64(batch: &RecordBatch, file: &Path, name: &str) -> Result<Vec<f64>> {
    let a = column(batch, file, name)?;
    scalar_f64(a).map_err(|what| col_err(file, name, what))
}

fn scalar_f64(a: &ArrayRef) -> std::result::Result<Vec<f64>, String> {
    Ok(match a.data_type() {
        DataType::Float32 => a.as_primitive::<Float32Type>().values().iter().map(|&v| f64::from(v)).collect(),
        DataType::Float64 => a.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Int64 => a.as_primitive::<Int64Type>().values().iter().map(|&v| v as f64).collect(),
        DataType::Int32 => a.as_primitive::<Int32Type>().values().iter().map(|&v| f64::from(v)).collect(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().values().iter().map(|&v| f64::from(v)).collect(),
        DataType::Boolean => a.as_boolean().iter().map(|v| if v.unwrap_or(false) { 1.0 } else { 0.0 }).collect(),
        DataType::FixedSizeList(_, 1) => scalar_f64(a.as_fixed_size_list().values())?,
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            if l.offsets().windows(2).any(|w| w[1] - w[0] != 1) {
                return Err("is a list with other than one value per row, expected a scalar".into());
            }
            scalar_f64(l.values())?
        }
        other => return Err(format!("is {other}, expected a number")),
    })
}

/// A scalar column as int64.
pub fn read_i64(batch: &RecordBatch, file: &Path, name: &str) -> Result<Vec<i64>> {
    Ok(read_f64(batch, file, name)?.into_iter().map(|v| v as i64).collect())
}

/// A scalar column as bool (non-zero numbers are true).
pub fn read_bool(batch: &RecordBatch, file: &Path, name: &str) -> Result<Vec<bool>> {
    Ok(read_f64(batch, file, name)?.into_iter().map(|v| v != 0.0).collect())
}

/// An image column (`struct<bytes: binary, path: string>`, as `datasets.Image` stores it): the encoded bytes of
/// each row.
pub fn read_image_bytes(batch: &RecordBatch, file: &Path, name: &str) -> Result<Vec<Vec<u8>>> {
    let a = column(batch, file, name)?;
    let DataType::Struct(_) = a.data_type() else {
        return Err(col_err(file, name, format!("is {}, expected an image struct {{bytes, path}}", a.data_type())));
    };
    let s = a.as_struct();
    let bytes = s.column_by_name("bytes").ok_or_else(|| col_err(file, name, "image struct without `bytes`".into()))?;
    let rows: Vec<Vec<u8>> = match bytes.data_type() {
        DataType::Binary => bytes.as_binary::<i32>().iter().map(|b| b.unwrap_or_default().to_vec()).collect(),
        DataType::LargeBinary => bytes.as_binary::<i64>().iter().map(|b| b.unwrap_or_default().to_vec()).collect(),
        other => return Err(col_err(file, name, format!("image bytes are {other}, expected binary"))),
    };
    Ok(rows)
}

/// A list-of-strings or string column (e.g. the episodes' `tasks`), one `Vec` per row.
pub fn read_str_list(batch: &RecordBatch, file: &Path, name: &str) -> Result<Vec<Vec<String>>> {
    let a = column(batch, file, name)?;
    let strings = |arr: &ArrayRef| -> std::result::Result<Vec<String>, String> {
        match arr.data_type() {
            DataType::Utf8 => Ok(arr.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()).collect()),
            DataType::LargeUtf8 => {
                Ok(arr.as_string::<i64>().iter().map(|s| s.unwrap_or_default().to_string()).collect())
            }
            other => Err(format!("holds {other}, expected strings")),
        }
    };
    match a.data_type() {
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let vals = strings(l.values()).map_err(|w| col_err(file, name, w))?;
            Ok(l.offsets().windows(2).map(|w| vals[w[0] as usize..w[1] as usize].to_vec()).collect())
        }
        _ => Ok(strings(a).map_err(|w| col_err(file, name, w))?.into_iter().map(|s| vec![s]).collect()),
    }
}
