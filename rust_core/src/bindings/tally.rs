//! `Tally`: the one-pass counter of `crate::tally`, fed batches column by column through the
//! Arrow C stream interface (objects with `__arrow_c_stream__` of one column, such as
//! one-column polars DataFrames), so that no value becomes a Python object on the way in.

use std::borrow::Cow;

use super::errors::core_error;
use super::parquet_chunks::PyDecoded;
use arrow_array::array::{Array, LargeStringArray, StringArray, StringViewArray};
use arrow_array::cast::AsArray;
use arrow_array::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::types::Int32Type;
use arrow_array::ArrayRef;
use arrow_buffer::NullBuffer;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};

use crate::tally::{inline_view, Batch, Coded, CodedBatch, Column, Slot, Tally, NONE};

/// The columns a batch must hold, in this order.
const COLUMNS: [&str; 6] = ["run", "sample_id", "gt", "status", "pred", "first"];

/// A string column of an Arrow batch, or one holding only nulls.
enum Plain<'a> {
    /// A string view array: its views, and its validity when some are null.
    View(&'a StringViewArray, &'a [u128], Option<&'a NullBuffer>),
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    Null(usize),
}

impl Plain<'_> {
    fn of(a: &ArrayRef) -> Option<Plain<'_>> {
        let any = a.as_any();
        if let Some(x) = any.downcast_ref::<StringViewArray>() {
            let nulls = x.nulls().filter(|n| n.null_count() > 0);
            Some(Plain::View(x, x.views(), nulls))
        } else if let Some(x) = any.downcast_ref::<StringArray>() {
            Some(Plain::Utf8(x))
        } else if let Some(x) = any.downcast_ref::<LargeStringArray>() {
            Some(Plain::Large(x))
        } else if a.null_count() == a.len() {
            Some(Plain::Null(a.len()))
        } else {
            None
        }
    }

    fn len(&self) -> usize {
        match self {
            Plain::View(_, v, _) => v.len(),
            Plain::Utf8(a) => a.len(),
            Plain::Large(a) => a.len(),
            Plain::Null(n) => *n,
        }
    }

    #[inline(always)]
    fn get(&self, row: usize) -> Option<&[u8]> {
        match self {
            Plain::View(a, _, nulls) => nulls
                .is_none_or(|n| n.is_valid(row))
                .then(|| a.value(row).as_bytes()),
            Plain::Utf8(a) => a.is_valid(row).then(|| a.value(row).as_bytes()),
            Plain::Large(a) => a.is_valid(row).then(|| a.value(row).as_bytes()),
            Plain::Null(_) => None,
        }
    }

    #[inline(always)]
    fn slot(&self, row: usize) -> Slot<'_> {
        match self {
            // A view of at most 12 bytes is its own key: no copy, no look at the buffers.
            Plain::View(a, views, nulls) => {
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
}

/// A column as the tally reads it: where it has no value, the value of `or` (the same length)
/// when there is one.
struct Strings<'a> {
    col: Plain<'a>,
    or: Option<Plain<'a>>,
}

impl Column for Strings<'_> {
    fn len(&self) -> usize {
        self.col.len()
    }

    #[inline(always)]
    fn get(&self, row: usize) -> Option<&[u8]> {
        match (self.col.get(row), &self.or) {
            (None, Some(b)) => b.get(row),
            (got, _) => got,
        }
    }

    #[inline(always)]
    fn slot(&self, row: usize) -> Slot<'_> {
        match (self.col.slot(row), &self.or) {
            (Slot::Missing, Some(b)) => b.slot(row),
            (got, _) => got,
        }
    }

    #[inline(always)]
    fn same(&self, row: usize) -> Option<u128> {
        match &self.col {
            Plain::View(_, views, nulls)
                if self.or.is_none() && nulls.is_none_or(|n| n.is_valid(row)) =>
            {
                Some(views[row])
            }
            _ => None,
        }
    }
}

/// The arrays of an object that exports an Arrow C stream of one column (a one-column polars
/// DataFrame), in order.
fn arrays(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<ArrayRef>> {
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
    // SAFETY: the capsule holds an `ArrowArrayStream` (its name says so); `from_raw` moves it
    // out and leaves a released stream behind, which the capsule's destructor skips.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
    let reader = ArrowArrayStreamReader::try_new(stream).map_err(|e| core_error(e.to_string()))?;
    let mut out = Vec::new();
    for b in reader {
        let b = b.map_err(|e| core_error(e.to_string()))?;
        if b.num_columns() != 1 {
            return Err(core_error(format!(
                "column {name:?}: a stream of {} columns, not one",
                b.num_columns()
            )));
        }
        out.push(b.column(0).clone());
    }
    Ok(out)
}

/// Columns cut into their common pieces: where any column's arrays end, every column is cut
/// (slices share the arrays' buffers), so that each piece is one array per column.
fn pieces(cols: Vec<Vec<ArrayRef>>) -> PyResult<Vec<Vec<ArrayRef>>> {
    let lens: Vec<usize> = cols
        .iter()
        .map(|c| c.iter().map(|a| a.len()).sum())
        .collect();
    if lens.iter().any(|&n| n != lens[0]) {
        return Err(core_error(format!(
            "the columns differ in length: {lens:?}"
        )));
    }
    let mut at = vec![(0usize, 0usize); cols.len()]; // (array, offset within it)
    let mut out = Vec::new();
    let mut left = lens.first().copied().unwrap_or(0);
    while left > 0 {
        let mut len = left;
        for (c, (i, off)) in cols.iter().zip(at.iter_mut()) {
            while c[*i].len() == *off {
                (*i, *off) = (*i + 1, 0);
            }
            len = len.min(c[*i].len() - *off);
        }
        out.push(
            cols.iter()
                .zip(at.iter_mut())
                .map(|(c, (i, off))| {
                    let piece = c[*i].slice(*off, len);
                    *off += len;
                    piece
                })
                .collect(),
        );
        left -= len;
    }
    Ok(out)
}

fn strings_of<'a>(col: &'a ArrayRef, name: &str) -> PyResult<Plain<'a>> {
    Plain::of(col).ok_or_else(|| {
        core_error(format!(
            "column {name:?} is {}, not strings",
            col.data_type()
        ))
    })
}

/// The arrays of each column given: six, or five when `first` is None.
fn read_columns(columns: Vec<Option<Vec<Bound<'_, PyAny>>>>) -> PyResult<Vec<Vec<ArrayRef>>> {
    if columns.len() != COLUMNS.len() {
        return Err(core_error(format!(
            "{} columns given, not 6",
            columns.len()
        )));
    }
    let mut read = Vec::with_capacity(COLUMNS.len());
    for (name, col) in COLUMNS.iter().zip(columns) {
        match col {
            Some(parts) => {
                let mut got = Vec::new();
                for obj in &parts {
                    got.extend(arrays(obj, name)?);
                }
                read.push(got);
            }
            None if *name == "first" => {}
            None => return Err(core_error(format!("column {name:?} is missing"))),
        }
    }
    Ok(read)
}

/// The six columns of one piece (five without `first`) as the tally reads them: `first`
/// missing where the piece has none, and falling back to the prediction with `first_or_pred`.
fn strings(piece: &[ArrayRef], first_or_pred: bool) -> PyResult<[Strings<'_>; 6]> {
    let col = |j: usize| strings_of(&piece[j], COLUMNS[j]);
    let one = |j: usize| col(j).map(|col| Strings { col, or: None });
    let first = match piece.get(5) {
        Some(_) => col(5)?,
        None => Plain::Null(piece[0].len()),
    };
    let or = if first_or_pred { Some(col(4)?) } else { None };
    Ok([
        one(0)?,
        one(1)?,
        one(2)?,
        one(3)?,
        one(4)?,
        Strings { col: first, or },
    ])
}

/// A dictionary array of strings as codes (`NONE` where missing) and its dictionary.
fn codes_of<'a>(a: &'a ArrayRef, name: &str) -> PyResult<(Cow<'a, [u32]>, Plain<'a>)> {
    let d = a.as_dictionary_opt::<Int32Type>().ok_or_else(|| {
        core_error(format!(
            "column {name:?} is {}, not coded strings",
            a.data_type()
        ))
    })?;
    let keys = d.keys();
    // a negative code is past the dictionary (`TallyError::BadCode`), not missing
    let code = |k: i32| u32::try_from(k).unwrap_or(NONE - 1);
    let codes = match keys.nulls().filter(|n| n.null_count() > 0) {
        // none missing, none negative (as read from a file): the codes as they are
        None if keys.values().iter().all(|&k| k >= 0) => {
            Cow::Borrowed(keys.values().inner().typed_data::<u32>())
        }
        None => keys.values().iter().map(|&k| code(k)).collect(),
        Some(nulls) => (keys.values().iter().enumerate())
            .map(|(i, &k)| if nulls.is_valid(i) { code(k) } else { NONE })
            .collect(),
    };
    Ok((codes, strings_of(d.values(), name)?))
}

impl Column for Plain<'_> {
    fn len(&self) -> usize {
        Plain::len(self)
    }

    #[inline(always)]
    fn get(&self, row: usize) -> Option<&[u8]> {
        Plain::get(self, row)
    }

    #[inline(always)]
    fn slot(&self, row: usize) -> Slot<'_> {
        Plain::slot(self, row)
    }
}

/// Per-run counts of (gt, status, pred, first) and a check for repeated samples, in one pass
/// over the columns run, sample_id, gt, status, pred and first (strings), given batch by batch.
#[pyclass(name = "Tally", module = "ger_replay._core")]
struct PyTally {
    inner: Option<Tally>,
    first_or_pred: bool,
}

impl PyTally {
    /// Runs `count` on the tally without the interpreter; after an error the tally is gone
    /// (it holds part of a batch).
    fn counting<T: Send>(
        &mut self,
        py: Python<'_>,
        count: impl FnOnce(&mut Tally) -> PyResult<T> + Send,
    ) -> PyResult<T> {
        let mut tally = self
            .inner
            .take()
            .ok_or_else(|| core_error("the tally is finished"))?;
        let res = py.detach(|| count(&mut tally));
        if res.is_ok() {
            self.inner = Some(tally);
        }
        res
    }
}

#[pymethods]
impl PyTally {
    /// `first_or_pred`: a row without a first label counts its prediction as its first label.
    #[new]
    /// `shards`: the rows of a batch are counted by this many threads (0: one per thread of
    /// the pool).
    #[pyo3(signature = (check_duplicates = true, first_or_pred = false, shards = 0))]
    fn new(check_duplicates: bool, first_or_pred: bool, shards: usize) -> Self {
        let tally = match shards {
            0 => Tally::new(check_duplicates),
            n => Tally::with_shards(check_duplicates, n.min(8)),
        };
        PyTally {
            inner: Some(tally),
            first_or_pred,
        }
    }

    /// Counts a batch given as its six columns (run, sample_id, gt, status, pred, first), each
    /// a list of parts that follow one another, a part being an object that exports an Arrow C
    /// stream of one column (a one-column polars DataFrame; one per chunk is cheapest, as polars
    /// joins the chunks of what it exports); `first` may be None (no first labels). Returns the
    /// rows of the batch that are the first of their run. After an error the tally is unusable.
    fn add(
        &mut self,
        py: Python<'_>,
        columns: Vec<Option<Vec<Bound<'_, PyAny>>>>,
    ) -> PyResult<Vec<usize>> {
        let cols = read_columns(columns)?;
        let first_or_pred = self.first_or_pred;
        self.counting(py, |tally| {
            let parts = pieces(cols)?;
            let strings = parts
                .iter()
                .map(|p| strings(p, first_or_pred))
                .collect::<PyResult<Vec<_>>>()?;
            let batches: Vec<Batch<'_, Strings<'_>>> = strings
                .iter()
                .map(|[run, sid, gt, status, pred, first]| Batch {
                    run,
                    sample_id: sid,
                    values: [gt, status, pred, first],
                })
                .collect();
            tally
                .add_all(&batches)
                .map_err(|e| core_error(e.to_string()))
        })
    }

    /// Counts a batch of the columns of a row group (`RowGroup.batches` of run, sample_id, gt,
    /// status, pred and, where the rule set reads it, first). Returns the rows of the batch
    /// that are the first of their run. After an error the tally is unusable.
    fn add_decoded(
        &mut self,
        py: Python<'_>,
        decoded: PyRef<'_, PyDecoded>,
    ) -> PyResult<Vec<usize>> {
        let arrays = &decoded.arrays;
        if !(5..=6).contains(&arrays.len()) {
            return Err(core_error("five or six columns are counted"));
        }
        let first_or_pred = self.first_or_pred;
        self.counting(py, |tally| {
            let n = arrays[0].len();
            let cols = arrays
                .iter()
                .zip(COLUMNS)
                .map(|(a, name)| codes_of(a, name))
                .collect::<PyResult<Vec<_>>>()?;
            let none = (Cow::Owned(vec![NONE; n]), Plain::Null(0));
            let col = |j: usize| {
                let (codes, dict) = cols.get(j).unwrap_or(&none);
                Coded { codes, dict }
            };
            let batch = CodedBatch {
                run: col(0),
                sample_id: col(1),
                values: [col(2), col(3), col(4), col(5)],
                first_or_pred,
            };
            tally
                .add_coded(&batch)
                .map_err(|e| core_error(e.to_string()))
        })
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
