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
    batches(file, path, None, 8192)?.collect()
}

/// The record batches of the open parquet `file` (named `path` in errors), one at a time (at most `rows` rows
/// each, never the whole table at once), with only the top-level columns named in `columns` when given (columns
/// the table lacks are left out; the readers then report them missing).
pub fn batches(
    file: std::fs::File,
    path: &Path,
    columns: Option<&[&str]>,
    rows: usize,
) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let mut builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?.with_batch_size(rows.max(1));
    if let Some(names) = columns {
        let roots: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| names.contains(&f.name().as_str()))
            .map(|(i, _)| i)
            .collect();
        let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), roots);
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(pq_err(path))?;
    let path = path.to_path_buf();
    Ok(reader.map(move |b| b.map_err(arrow_err(&path))))
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

/// The first null entry of `a`, if any.
fn first_null(a: &dyn Array) -> Option<usize> {
    let nulls = a.logical_nulls()?;
    (0..a.len()).find(|&i| nulls.is_null(i))
}

/// The first value of `values` (rows of `dim`) that is not finite, as `(row, position in the row)`.
fn first_non_finite(values: &[f32], dim: usize) -> Option<(usize, usize)> {
    let i = values.iter().position(|v| !v.is_finite())?;
    Some((i / dim.max(1), i % dim.max(1)))
}

/// A vector column as rows of `dim` float32 (`dim` checked against every row). Refused, naming the row (counted
/// from `first_row`, the batch's first row in the file): a null row or value, a value that is not finite (NaN,
/// ±∞, or a float64 beyond float32's range).
pub fn read_f32_vec(batch: &RecordBatch, file: &Path, first_row: usize, name: &str, dim: usize) -> Result<Vec<f32>> {
    let a = column(batch, file, name)?;
    if let Some(r) = first_null(a.as_ref()) {
        return Err(col_err(file, name, format!("row {} is null", first_row + r)));
    }
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
            return read_f32(batch, file, first_row, name);
        }
        other => return Err(col_err(file, name, format!("is {other}, expected a list of {dim} floats"))),
    };
    if let Some((row, &n)) = lengths.iter().enumerate().find(|(_, n)| **n != dim) {
        return Err(col_err(file, name, format!("has {n} values in row {}; the cell expects {dim}", first_row + row)));
    }
    // Only the values the rows cover (a sliced list may hold more).
    let (start, total) = match a.data_type() {
        DataType::List(_) => (a.as_list::<i32>().offsets()[0] as usize, lengths.len() * dim),
        DataType::LargeList(_) => (a.as_list::<i64>().offsets()[0] as usize, lengths.len() * dim),
        _ => (0, lengths.len() * dim),
    };
    let values = values.slice(start, total.min(values.len().saturating_sub(start)));
    if let Some(i) = first_null(values.as_ref()) {
        return Err(col_err(
            file,
            name,
            format!("row {}: value {} is null", first_row + i / dim.max(1), i % dim.max(1)),
        ));
    }
    let flat: Vec<f32> = match values.data_type() {
        DataType::Float32 => values.as_primitive::<Float32Type>().values().to_vec(),
        DataType::Float64 => values.as_primitive::<Float64Type>().values().iter().map(|&v| v as f32).collect(),
        other => return Err(col_err(file, name, format!("holds {other}, expected float32 or float64"))),
    };
    if let Some((row, k)) = first_non_finite(&flat, dim) {
        return Err(col_err(
            file,
            name,
            format!("row {}: value {k} is {} (not finite)", first_row + row, flat[row * dim.max(1) + k]),
        ));
    }
    Ok(flat)
}

/// A scalar column as float32 (from any float or integer type); refused like [`read_f64`], and also when a
/// float64 value is beyond float32's range.
pub fn read_f32(batch: &RecordBatch, file: &Path, first_row: usize, name: &str) -> Result<Vec<f32>> {
    let v: Vec<f32> = read_f64(batch, file, first_row, name)?.into_iter().map(|v| v as f32).collect();
    if let Some((row, _)) = first_non_finite(&v, 1) {
        return Err(col_err(file, name, format!("row {}: beyond float32's range", first_row + row)));
    }
    Ok(v)
}

/// A scalar column as float64 (from any float, integer or bool type; a one-value list counts as a scalar).
/// Refused, naming the row (counted from `first_row`): a null, or a value that is not finite.
pub fn read_f64(batch: &RecordBatch, file: &Path, first_row: usize, name: &str) -> Result<Vec<f64>> {
    let a = column(batch, file, name)?;
    let v = scalar_f64(a).map_err(|(row, what)| match row {
        Some(r) => col_err(file, name, format!("row {}: {what}", first_row + r)),
        None => col_err(file, name, what),
    })?;
    if let Some(r) = v.iter().position(|x| !x.is_finite()) {
        return Err(col_err(file, name, format!("row {}: {} (not finite)", first_row + r, v[r])));
    }
    Ok(v)
}

/// The values of a scalar column; on error the row (when one is at fault) and why.
fn scalar_f64(a: &ArrayRef) -> std::result::Result<Vec<f64>, (Option<usize>, String)> {
    if let Some(r) = first_null(a.as_ref()) {
        return Err((Some(r), "null".into()));
    }
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
            if let Some(r) = l.offsets().windows(2).position(|w| w[1] - w[0] != 1) {
                return Err((Some(r), "is a list with other than one value per row, expected a scalar".into()));
            }
            let start = l.offsets()[0] as usize;
            scalar_f64(&l.values().slice(start, l.len()))?
        }
        other => return Err((None, format!("is {other}, expected a number"))),
    })
}

/// A scalar column as int64: integer columns exactly, float columns only where they hold whole numbers.
/// Refused, naming the row (counted from `first_row`): a null, a fraction, a value that is not finite or beyond
/// int64's range.
pub fn read_i64(batch: &RecordBatch, file: &Path, first_row: usize, name: &str) -> Result<Vec<i64>> {
    let a = column(batch, file, name)?;
    if let Some(r) = first_null(a.as_ref()) {
        return Err(col_err(file, name, format!("row {} is null", first_row + r)));
    }
    if let DataType::Int64 = a.data_type() {
        return Ok(a.as_primitive::<Int64Type>().values().to_vec());
    }
    let v = read_f64(batch, file, first_row, name)?;
    // 2^63 is the first float beyond int64's range.
    let limit = 9_223_372_036_854_775_808.0;
    if let Some(r) = v.iter().position(|x| x.fract() != 0.0 || *x >= limit || *x < -limit) {
        return Err(col_err(file, name, format!("row {}: {} is not an int64", first_row + r, v[r])));
    }
    Ok(v.into_iter().map(|x| x as i64).collect())
}

/// A scalar column of counts or indices: an int64 column ([`read_i64`]) whose every value is at least 0.
pub fn read_index(batch: &RecordBatch, file: &Path, first_row: usize, name: &str) -> Result<Vec<u64>> {
    let v = read_i64(batch, file, first_row, name)?;
    if let Some(r) = v.iter().position(|x| *x < 0) {
        return Err(col_err(file, name, format!("row {}: {} is negative", first_row + r, v[r])));
    }
    Ok(v.into_iter().map(|x| x as u64).collect())
}

/// A scalar column as bool (non-zero numbers are true); refused like [`read_f64`].
pub fn read_bool(batch: &RecordBatch, file: &Path, first_row: usize, name: &str) -> Result<Vec<bool>> {
    Ok(read_f64(batch, file, first_row, name)?.into_iter().map(|v| v != 0.0).collect())
}

/// An image column (`struct<bytes: binary, path: string>`, as `datasets.Image` stores it): the encoded bytes of
/// each row; a row without bytes is refused, naming it (counted from `first_row`).
pub fn read_image_bytes(batch: &RecordBatch, file: &Path, first_row: usize, name: &str) -> Result<Vec<Vec<u8>>> {
    let a = column(batch, file, name)?;
    let DataType::Struct(_) = a.data_type() else {
        return Err(col_err(file, name, format!("is {}, expected an image struct {{bytes, path}}", a.data_type())));
    };
    let s = a.as_struct();
    let bytes = s.column_by_name("bytes").ok_or_else(|| col_err(file, name, "image struct without `bytes`".into()))?;
    if let Some(r) = first_null(a.as_ref()).or_else(|| first_null(bytes.as_ref())) {
        return Err(col_err(file, name, format!("row {} has no image bytes (null)", first_row + r)));
    }
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
