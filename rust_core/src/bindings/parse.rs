use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use pyo3::exceptions::PyRuntimeError;

use super::errors::core_error;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::labels::{LabelSpace, Synonyms};
use crate::parse::{parse_answer_codes, parse_answers_codes, Codes, REFUSALS};

/// One parsed answer.
#[pyclass(frozen, module = "ger_replay._core", name = "ParseResult")]
pub struct ParseResult {
    codes: Codes,
    /// The candidates the answer was parsed against (shared by a batch).
    labels: Arc<Vec<String>>,
}

#[pymethods]
impl ParseResult {
    /// "ok", "refused", "count_mismatch", "unparseable" or "no_label".
    #[getter]
    fn status(&self) -> &'static str {
        self.codes.status.as_str()
    }

    /// One ranking per item found, in the candidates' spelling, most likely first.
    #[getter]
    fn rankings(&self) -> Vec<Vec<String>> {
        self.codes.rankings(&self.labels)
    }

    /// The first label of each ranking, or None for an item without a candidate label.
    #[getter]
    fn top1(&self) -> Vec<Option<String>> {
        (0..self.codes.len())
            .map(|i| {
                self.codes
                    .item(i)
                    .first()
                    .map(|&c| self.labels[c as usize].clone())
            })
            .collect()
    }

    /// Per item, the labels outside the candidates, as the model wrote them.
    #[getter]
    fn invented(&self) -> Vec<Vec<String>> {
        self.codes.invented_lists()
    }

    /// The id of the refusal wording that matched, when the answer held no item.
    #[getter]
    fn refusal(&self) -> Option<&'static str> {
        self.codes.refusal
    }

    /// Per item, whether the answer named more than one label in prose ("sadness or
    /// distress"); the ranking keeps them in the order named, the first is the prediction.
    #[getter]
    fn hedged(&self) -> Vec<bool> {
        self.codes.hedged.clone()
    }

    /// The result as a plain dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("status", self.status())?;
        d.set_item("rankings", self.rankings())?;
        d.set_item("top1", self.top1())?;
        d.set_item("invented", self.invented())?;
        d.set_item("refusal", self.refusal())?;
        d.set_item("hedged", self.hedged())?;
        Ok(d)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<ParseResult>() {
            Ok(o) => {
                let o = o.get();
                o.status() == self.status()
                    && o.rankings() == self.rankings()
                    && o.codes.invented == self.codes.invented
                    && o.codes.refusal == self.codes.refusal
                    && o.codes.hedged == self.codes.hedged
            }
            Err(_) => false,
        }
    }

    fn __len__(&self) -> usize {
        self.codes.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ParseResult(status={:?}, rankings={:?}, invented={:?}, refusal={}, hedged={})",
            self.status(),
            self.rankings(),
            self.invented(),
            match &self.codes.refusal {
                Some(r) => format!("{r:?}"),
                None => "None".to_string(),
            },
            if self.codes.hedged.is_empty() {
                "[]".to_string()
            } else {
                format!(
                    "[{}]",
                    self.codes
                        .hedged
                        .iter()
                        .map(|&h| if h { "True" } else { "False" })
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )
    }
}

fn label_space(labels: &[String], synonyms: Option<Vec<(String, String)>>) -> PyResult<LabelSpace> {
    let extra = synonyms.unwrap_or_default();
    let syn = Synonyms::with_extra(extra.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    LabelSpace::new(labels, syn).map_err(|e| core_error(e.to_string()))
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
    text: &str,
    n_items: usize,
    labels: Vec<String>,
    synonyms: Option<Vec<(String, String)>>,
) -> PyResult<ParseResult> {
    let space = label_space(&labels, synonyms)?;
    let out = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            parse_answer_codes(text, n_items, &space)
        }))
    });
    out.map(|codes| ParseResult {
        codes,
        labels: Arc::new(labels),
    })
    .map_err(|_| panic_error("an answer"))
}

/// `n_items` of the batch form: one count for all answers, or one per answer.
#[derive(FromPyObject)]
enum Counts {
    One(usize),
    Each(Vec<usize>),
}

/// Parses many answers in parallel with the GIL released; results keep the input order. The
/// texts are read in place (the list holds a reference to each while the GIL is released).
#[pyfunction]
#[pyo3(signature = (texts, n_items, labels, synonyms = None))]
fn parse_responses(
    py: Python<'_>,
    texts: Vec<Bound<'_, PyString>>,
    n_items: Counts,
    labels: Vec<String>,
    synonyms: Option<Vec<(String, String)>>,
) -> PyResult<Vec<ParseResult>> {
    let counts = match n_items {
        Counts::One(n) => vec![n; texts.len()],
        Counts::Each(v) => {
            if v.len() != texts.len() {
                return Err(core_error(format!(
                    "n_items has {} counts for {} answers",
                    v.len(),
                    texts.len()
                )));
            }
            v
        }
    };
    let space = label_space(&labels, synonyms)?;
    let strs: Vec<&str> = texts.iter().map(|t| t.to_str()).collect::<PyResult<_>>()?;
    let out = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| {
            parse_answers_codes(&strs, &counts, &space)
        }))
    });
    let labels = Arc::new(labels);
    out.map(|v| {
        v.into_iter()
            .map(|codes| ParseResult {
                codes,
                labels: Arc::clone(&labels),
            })
            .collect()
    })
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
