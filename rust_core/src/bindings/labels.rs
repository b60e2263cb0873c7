use pyo3::prelude::*;

use crate::labels::{Synonyms, DEFAULT_SYNONYMS};

/// The synonym table of PROTOCOL.md part 3 as (variant, canonical) pairs.
#[pyfunction]
fn default_synonyms() -> Vec<(&'static str, &'static str)> {
    DEFAULT_SYNONYMS.to_vec()
}

/// The folded comparison key of each label (case, white space, synonyms).
#[pyfunction]
#[pyo3(signature = (labels, extra_synonyms = None))]
fn fold_labels(labels: Vec<String>, extra_synonyms: Option<Vec<(String, String)>>) -> Vec<String> {
    let extra = extra_synonyms.unwrap_or_default();
    let syn = Synonyms::with_extra(extra.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    labels.iter().map(|l| syn.fold(l)).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(default_synonyms, m)?)?;
    m.add_function(wrap_pyfunction!(fold_labels, m)?)?;
    Ok(())
}
