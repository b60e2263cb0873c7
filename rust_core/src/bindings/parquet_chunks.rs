//! `ParquetFile` and `RowGroup`: a Parquet file read a row group at a time from bytes Python
//! reads (`crate::parquet_chunks`). A row group's columns are decoded a batch at a time
//! (`RowGroup.batches`, which `Tally.add_decoded` counts), and the values of a few rows come
//! back as Python objects (`RowGroup.rows`).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, Once};

use arrow_array::array::{Array, ArrayRef, BooleanArray};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_schema::DataType;
use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use super::errors::core_error;
use crate::parquet_chunks::{self, read_all, Chunks, Layout};
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;

thread_local! {
    /// Whether a panic on this thread is caught by `guarded` (and so not printed).
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}
static QUIET_HOOK: Once = Once::new();

/// Runs `f`, a panic (malformed data the decoder did not foresee) becoming an error, its
/// message not printed.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    QUIET_HOOK.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                before(info)
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let got = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    got.unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("no reason given");
        Err(format!("malformed Parquet data ({why})"))
    })
}

/// A Parquet file's layout, from its footer.
#[pyclass(name = "ParquetFile", module = "ger_replay._core", frozen)]
pub struct PyParquetFile {
    layout: Arc<Layout>,
}

#[pymethods]
impl PyParquetFile {
    /// The layout of a file of `file_len` bytes whose footer metadata is `metadata`.
    #[new]
    fn new(py: Python<'_>, metadata: &[u8], file_len: u64) -> PyResult<Self> {
        let metadata = metadata.to_vec();
        let layout = py
            .detach(|| guarded(|| Layout::new(&metadata, file_len)))
            .map_err(core_error)?;
        Ok(PyParquetFile {
            layout: Arc::new(layout),
        })
    }

    /// The length of the footer metadata, from the file's last 8 bytes.
    #[staticmethod]
    fn metadata_len(trailer: &[u8]) -> PyResult<usize> {
        parquet_chunks::metadata_len(trailer).map_err(core_error)
    }

    /// The rows of each row group.
    #[getter]
    fn row_groups(&self) -> Vec<u64> {
        self.layout.row_groups()
    }

    /// The top-level columns read as strings.
    #[getter]
    fn strings(&self) -> Vec<String> {
        let fields = self.layout.fields();
        let strings = fields
            .into_iter()
            .filter(|(_, t)| *t == parquet_chunks::strings());
        strings.map(|(n, _)| n).collect()
    }

    /// The byte ranges (start, length) that hold the columns `columns` of a row group.
    fn ranges(&self, row_group: usize, columns: Vec<String>) -> PyResult<Vec<(u64, u64)>> {
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        self.layout.ranges(row_group, &names).map_err(core_error)
    }

    /// A row group, from the bytes of its `ranges` as (start, bytes).
    fn row_group(&self, index: usize, chunks: Vec<(u64, Bound<'_, PyBytes>)>) -> PyRowGroup {
        let parts = chunks
            .iter()
            .map(|(at, b)| (*at, Bytes::copy_from_slice(b.as_bytes())))
            .collect();
        PyRowGroup {
            layout: self.layout.clone(),
            index,
            chunks: Chunks::new(parts, self.layout.file_len()),
        }
    }
}

/// One row group of a `ParquetFile`, with the bytes of the columns that will be read.
#[pyclass(name = "RowGroup", module = "ger_replay._core", frozen)]
pub struct PyRowGroup {
    layout: Arc<Layout>,
    index: usize,
    chunks: Chunks,
}

/// Rows decoded at a time: a whole row group as most writers cut them (polars 2^18 rows or
/// fewer, pyarrow 2^20), so that what the tally learns of each dictionary serves all its rows.
pub const BATCH: usize = 1 << 20;

/// The columns of a row group decoded a batch at a time (`RowGroup.batches`), each column on
/// its own thread: an iterator of `Decoded`.
#[pyclass(name = "Batches", module = "ger_replay._core", frozen)]
pub struct PyBatches {
    readers: Mutex<Vec<ParquetRecordBatchReader>>,
}

impl PyBatches {
    fn next_batch(&self) -> Result<Option<Vec<ArrayRef>>, String> {
        use rayon::prelude::*;
        let mut readers = self.readers.lock().map_err(|_| "a reader failed before")?;
        let got = readers
            .par_iter_mut()
            .map(|r| guarded(|| r.next().transpose().map_err(|e| e.to_string())))
            .collect::<Result<Vec<_>, String>>()?;
        if got.iter().all(Option::is_none) {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = got
            .into_iter()
            .map(|b| b.map(|b| b.column(0).clone()))
            .collect::<Option<_>>()
            .ok_or("the columns of a row group differ in length")?;
        if arrays.iter().any(|a| a.len() != arrays[0].len()) {
            return Err("the columns of a row group differ in length".into());
        }
        Ok(Some(arrays))
    }
}

#[pymethods]
impl PyBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyDecoded>> {
        let got = py.detach(|| self.next_batch()).map_err(core_error)?;
        Ok(got.map(|arrays| PyDecoded { arrays }))
    }
}

/// One batch of the columns of a row group, decoded: what `Tally.add_decoded` counts.
#[pyclass(name = "Decoded", module = "ger_replay._core", frozen)]
pub struct PyDecoded {
    /// one array per column, in the order asked
    pub arrays: Vec<ArrayRef>,
}

#[pymethods]
impl PyDecoded {
    /// The rows of the batch.
    #[getter]
    fn rows(&self) -> usize {
        self.arrays.first().map_or(0, |a| a.len())
    }
}

#[pymethods]
impl PyRowGroup {
    /// The columns `columns` decoded `BATCH` rows at a time (each column on its own thread,
    /// without the interpreter): an iterator of `Decoded`.
    fn batches(&self, columns: Vec<String>) -> PyResult<PyBatches> {
        let readers = columns
            .iter()
            .map(|n| {
                guarded(|| {
                    self.layout
                        .reader(self.index, &self.chunks, &[n], BATCH, None)
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(core_error)?;
        Ok(PyBatches {
            readers: Mutex::new(readers),
        })
    }

    /// The values of the columns `columns` at the rows `rows` (sorted, within the group), as
    /// Python objects: a list per column.
    fn rows<'py>(
        &self,
        py: Python<'py>,
        columns: Vec<String>,
        rows: Vec<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let got = py
            .detach(|| {
                guarded(|| {
                    let reader = self.layout.reader(
                        self.index,
                        &self.chunks,
                        &names,
                        rows.len(),
                        Some(&rows),
                    )?;
                    read_all(reader)
                })
            })
            .map_err(core_error)?;
        let out = PyDict::new(py);
        for name in &names {
            let list = PyList::empty(py);
            for b in &got {
                let col = b
                    .column_by_name(name)
                    .ok_or_else(|| core_error(format!("no column {name:?}")))?;
                append_values(&list, col)
                    .map_err(|e| core_error(format!("column {name:?}: {e}")))?;
            }
            out.set_item(name, list)?;
        }
        Ok(out)
    }
}

/// Appends the values of an array to a list as Python objects (None where missing).
fn append_values(list: &Bound<'_, PyList>, a: &ArrayRef) -> PyResult<()> {
    macro_rules! prim {
        ($t:ty) => {{
            let p = a.as_primitive::<$t>();
            for i in 0..p.len() {
                list.append(p.is_valid(i).then(|| p.value(i)))?;
            }
        }};
    }
    match a.data_type() {
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            let d = a.as_dictionary::<Int32Type>();
            let values = d.values().as_string::<i32>();
            for k in d.keys() {
                let k = match k.map(usize::try_from) {
                    Some(Ok(k)) if k < values.len() => Some(k),
                    None => None,
                    Some(_) => return Err(core_error("a code past its dictionary")),
                };
                list.append(k.and_then(|k| values.is_valid(k).then(|| values.value(k))))?;
            }
        }
        DataType::Boolean => {
            let b: &BooleanArray = a.as_boolean();
            for i in 0..b.len() {
                list.append(b.is_valid(i).then(|| b.value(i)))?;
            }
        }
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Null => {
            for _ in 0..a.len() {
                list.append(None::<bool>)?;
            }
        }
        t => return Err(core_error(format!("values of type {t} are not read"))),
    }
    Ok(())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyParquetFile>()?;
    m.add_class::<PyRowGroup>()?;
    m.add_class::<PyBatches>()?;
    m.add_class::<PyDecoded>()?;
    Ok(())
}
