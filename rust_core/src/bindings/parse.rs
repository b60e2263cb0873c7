use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::labels::{LabelSpace, Synonyms};
use crate::parse::{parse_answer, parse_answers, Parsed, REFUSALS};

/// One parsed answer.
#[pyclass(frozen, module = "ger_replay._core", name = "ParseResult")]
pub struct ParseResult {
    inner: Parsed,
}

#[pymethods]
impl ParseResult {
    /// "ok", "refused", "count_mismatch" or "unparseable".
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }

    /// One ranking per item found, in the candidates' spelling, most likely first.
    #[getter]
    fn rankings(&self) -> Vec<Vec<String>> {
        self.inner.rankings.clone()
    }

    /// The first label of each ranking, or None for an item without a candidate label.
    #[getter]
    fn top1(&self) -> Vec<Option<String>> {
        self.inner
            .top1()
            .into_iter()
            .map(|o| o.map(str::to_string))
            .collect()
    }

    /// Per item, the labels outside the candidates, as the model wrote them.
    #[getter]
    fn invented(&self) -> Vec<Vec<String>> {
        self.inner.invented.clone()
    }

    /// The id of the refusal wording that matched, when the answer held no item.
    #[getter]
    fn refusal(&self) -> Option<String> {
        self.inner.refusal.clone()
    }

    /// The result as a plain dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("status", self.status())?;
        d.set_item("rankings", self.rankings())?;
        d.set_item("top1", self.top1())?;
        d.set_item("invented", self.invented())?;
        d.set_item("refusal", self.refusal())?;
        Ok(d)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<ParseResult>() {
            Ok(o) => o.get().inner == self.inner,
            Err(_) => false,
        }
    }

    fn __len__(&self) -> usize {
        self.inner.rankings.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ParseResult(status={:?}, rankings={:?}, invented={:?}, refusal={})",
            self.status(),
            self.inner.rankings,
            self.inner.invented,
            match &self.inner.refusal {
                Some(r) => format!("{r:?}"),
                None => "None".to_string(),
            }
        )
    }
}

fn label_space(labels: &[String], synonyms: Option<Vec<(String, String)>>) -> PyResult<LabelSpace> {
    let extra = synonyms.unwrap_or_default();
    let syn = Synonyms::with_extra(extra.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    LabelSpace::new(labels, syn).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn panic_error(what: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "internal error in the answer parser while parsing {what}"
    ))
}

/// Parses one answer holding `n_items` items against the candidate `labels`.
#[pyfunction]
#[pyo3(signature = (text, n_items, labels, synonyms = None))]
fn parse_response(
    py: Python<'_>,
    text: String,
    n_items: usize,
    labels: Vec<String>,
    synonyms: Option<Vec<(String, String)>>,
) -> PyResult<ParseResult> {
    let space = label_space(&labels, synonyms)?;
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(|| parse_answer(&text, n_items, &space))));
    out.map(|inner| ParseResult { inner })
        .map_err(|_| panic_error("an answer"))
}

/// `n_items` of the batch form: one count for all answers, or one per answer.
#[derive(FromPyObject)]
enum Counts {
    One(usize),
    Each(Vec<usize>),
}

/// Parses many answers in parallel with the GIL released; results keep the input order.
#[pyfunction]
#[pyo3(signature = (texts, n_items, labels, synonyms = None))]
fn parse_responses(
    py: Python<'_>,
    texts: Vec<String>,
    n_items: Counts,
    labels: Vec<String>,
    synonyms: Option<Vec<(String, String)>>,
) -> PyResult<Vec<ParseResult>> {
    let counts = match n_items {
        Counts::One(n) => vec![n; texts.len()],
        Counts::Each(v) => {
            if v.len() != texts.len() {
                return Err(PyValueError::new_err(format!(
                    "n_items has {} counts for {} answers",
                    v.len(),
                    texts.len()
                )));
            }
            v
        }
    };
    let space = label_space(&labels, synonyms)?;
    let out =
        py.detach(|| catch_unwind(AssertUnwindSafe(|| parse_answers(&texts, &counts, &space))));
    out.map(|v| v.into_iter().map(|inner| ParseResult { inner }).collect())
        .map_err(|_| panic_error("a batch of answers"))
}

/// The refusal wordings as (id, regular expression) pairs, in the order they are tried.
#[pyfunction]
fn refusal_patterns() -> Vec<(&'static str, &'static str)> {
    REFUSALS.to_vec()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ParseResult>()?;
    m.add_function(wrap_pyfunction!(parse_response, m)?)?;
    m.add_function(wrap_pyfunction!(parse_responses, m)?)?;
    m.add_function(wrap_pyfunction!(refusal_patterns, m)?)?;
    Ok(())
}
