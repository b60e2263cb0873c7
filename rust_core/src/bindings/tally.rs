//! `Tally`: the one-pass counter of `crate::tally`, fed batches of rows through the Arrow C
//! stream interface (any object with `__arrow_c_stream__`, such as a polars DataFrame), so that
//! no value becomes a Python object on the way in.

use super::errors::core_error;
use arrow_array::array::{Array, LargeStringArray, StringArray, StringViewArray};
use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::NullBuffer;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

use crate::tally::{inline_view, Batch, Column, Slot, Tally};

/// The columns a batch must hold, in this order.
const COLUMNS: [&str; 6] = ["run", "sample_id", "gt", "status", "pred", "first"];

/// A string column of an Arrow batch, or one holding only nulls.
enum Strings<'a> {
    /// A string view array: its views, and its validity when some are null.
    View(&'a StringViewArray, &'a [u128], Option<&'a NullBuffer>),
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    Null(usize),
}

impl Strings<'_> {
    fn of(a: &ArrayRef) -> Option<Strings<'_>> {
        let any = a.as_any();
        if let Some(x) = any.downcast_ref::<StringViewArray>() {
            let nulls = x.nulls().filter(|n| n.null_count() > 0);
            Some(Strings::View(x, x.views(), nulls))
        } else if let Some(x) = any.downcast_ref::<StringArray>() {
            Some(Strings::Utf8(x))
        } else if let Some(x) = any.downcast_ref::<LargeStringArray>() {
            Some(Strings::Large(x))
        } else if a.null_count() == a.len() {
            Some(Strings::Null(a.len()))
        } else {
            None
        }
    }
}

impl Column for Strings<'_> {
    fn len(&self) -> usize {
        match self {
            Strings::View(_, v, _) => v.len(),
            Strings::Utf8(a) => a.len(),
            Strings::Large(a) => a.len(),
            Strings::Null(n) => *n,
        }
    }

    #[inline(always)]
    fn get(&self, row: usize) -> Option<&[u8]> {
        match self {
            Strings::View(a, _, nulls) => nulls
                .is_none_or(|n| n.is_valid(row))
                .then(|| a.value(row).as_bytes()),
            Strings::Utf8(a) => a.is_valid(row).then(|| a.value(row).as_bytes()),
            Strings::Large(a) => a.is_valid(row).then(|| a.value(row).as_bytes()),
            Strings::Null(_) => None,
        }
    }

    #[inline(always)]
    fn slot(&self, row: usize) -> Slot<'_> {
        match self {
            // A view of at most 12 bytes is its own key: no copy, no look at the buffers.
            Strings::View(a, views, nulls) => {
                if nulls.is_some_and(|n| n.is_null(row)) {
                    return Slot::Missing;
                }
                match inline_view(views[row]) {
                    Some(k) => Slot::Inline(k),
                    None => Slot::Long(a.value(row).as_bytes()),
                }
            }
            _ => match self.get(row) {
                None => Slot::Missing,
                Some(b) => crate::tally::slot_of(b),
            },
        }
    }

    #[inline(always)]
    fn same(&self, row: usize) -> Option<u128> {
        match self {
            Strings::View(_, views, nulls) if nulls.is_none_or(|n| n.is_valid(row)) => {
                Some(views[row])
            }
            _ => None,
        }
    }
}

/// The record batches of an object that exports an Arrow C stream.
fn batches(obj: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: the capsule holds an `ArrowArrayStream` (its name says so); `from_raw` moves it
    // out and leaves a released stream behind, which the capsule's destructor skips.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
    let reader = ArrowArrayStreamReader::try_new(stream).map_err(|e| core_error(e.to_string()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| core_error(e.to_string()))
}

fn strings_of<'a>(b: &'a RecordBatch, name: &str) -> PyResult<Strings<'a>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| core_error(format!("the batch has no column {name:?}")))?;
    Strings::of(col).ok_or_else(|| {
        core_error(format!(
            "column {name:?} is {}, not strings",
            col.data_type()
        ))
    })
}

/// Per-run counts of (gt, status, pred, first) and a check for repeated samples, in one pass
/// over batches that hold the columns run, sample_id, gt, status, pred and first (strings).
#[pyclass(name = "Tally", module = "ger_replay._core")]
struct PyTally {
    inner: Option<Tally>,
}

#[pymethods]
impl PyTally {
    #[new]
    #[pyo3(signature = (check_duplicates = true))]
    fn new(check_duplicates: bool) -> Self {
        PyTally {
            inner: Some(Tally::new(check_duplicates)),
        }
    }

    /// Counts a batch; returns the rows (within the batch) that are the first of their run.
    /// After an error the tally is unusable.
    fn add(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
        let mut tally = self
            .inner
            .take()
            .ok_or_else(|| core_error("the tally is finished"))?;
        let parts = batches(batch)?;
        let res = py.detach(|| {
            let mut firsts = Vec::new();
            let mut offset = 0;
            for b in &parts {
                let [run, sid, gt, status, pred, first] = COLUMNS.map(|c| strings_of(b, c));
                let (run, sid) = (run?, sid?);
                let batch = Batch {
                    run: &run,
                    sample_id: &sid,
                    values: [&gt?, &status?, &pred?, &first?],
                };
                let got = tally.add(&batch).map_err(|e| core_error(e.to_string()))?;
                firsts.extend(got.into_iter().map(|i| i + offset));
                offset += b.num_rows();
            }
            Ok(firsts)
        });
        if res.is_ok() {
            self.inner = Some(tally);
        }
        res
    }

    /// What the tally found, as a dict: `runs` (names, in order of first appearance), `values`
    /// (for gt, status, pred, first: the value of each code in byte order, code 0 being None),
    /// `sets` (the distinct value sets: one row of 4 codes each), `run`, `set`, `n` (arrays, one
    /// entry per distinct run and value set: the run's index in `runs`, the set's row in
    /// `sets`, the rows) and `maybe_duplicated` (indices of runs whose sample ids hash alike: to
    /// be confirmed on the strings).
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let tally = self
            .inner
            .take()
            .ok_or_else(|| core_error("the tally is finished"))?;
        let t = py.detach(|| tally.finish());
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        let d = PyDict::new(py);
        d.set_item("runs", t.runs.into_iter().map(text).collect::<Vec<_>>())?;
        let values: Vec<Vec<Option<String>>> = t
            .values
            .into_iter()
            .map(|v| v.into_iter().map(|x| x.map(text)).collect())
            .collect();
        d.set_item("values", values)?;
        let sets: Vec<u32> = t.sets.iter().flatten().copied().collect();
        let sets = numpy::ndarray::Array2::from_shape_vec((t.sets.len(), 4), sets)
            .map_err(|e| core_error(e.to_string()))?;
        d.set_item("sets", sets.into_pyarray(py))?;
        d.set_item("run", t.run.into_pyarray(py))?;
        d.set_item("set", t.set.into_pyarray(py))?;
        d.set_item("n", t.n.into_pyarray(py))?;
        d.set_item("maybe_duplicated", t.maybe_duplicated)?;
        Ok(d)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTally>()?;
    Ok(())
}
