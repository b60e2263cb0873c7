use super::errors::core_error;
use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::metrics::{Confusion, MetricError, Metrics};

fn value_error(e: MetricError) -> PyErr {
    core_error(e.to_string())
}

fn confusion_of(
    py: Python<'_>,
    y_true: &PyReadonlyArray1<'_, i64>,
    y_pred: &PyReadonlyArray1<'_, i64>,
    n_classes: usize,
) -> PyResult<Confusion> {
    // Zero-copy views of contiguous arrays; a strided array is copied once.
    let t = y_true.as_array();
    let p = y_pred.as_array();
    match (t.as_slice(), p.as_slice()) {
        (Some(ts), Some(ps)) => py.detach(|| Confusion::from_codes(ts, ps, n_classes)),
        _ => {
            let (tv, pv) = (t.to_vec(), p.to_vec());
            py.detach(|| Confusion::from_codes(&tv, &pv, n_classes))
        }
    }
    .map_err(value_error)
}

fn metrics_dict<'py>(py: Python<'py>, m: &Metrics) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("n", m.n)?;
    d.set_item("acc", m.acc)?;
    d.set_item("war", m.war)?;
    d.set_item("uar", m.uar)?;
    d.set_item("waf", m.waf)?;
    d.set_item("macro_f1", m.macro_f1)?;
    d.set_item("support", m.support.clone())?;
    d.set_item("precision", m.precision.clone())?;
    d.set_item("recall", m.recall.clone())?;
    d.set_item("f1", m.f1.clone())?;
    Ok(d)
}

/// Confusion counts, `n_classes x (n_classes + 1)`; the last column counts missing predictions
/// (codes < 0 or >= n_classes).
#[pyfunction]
fn confusion_matrix<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    y_pred: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let cm = confusion_of(py, &y_true, &y_pred, n_classes)?;
    let arr =
        numpy::ndarray::Array2::from_shape_vec((n_classes, n_classes + 1), cm.counts().to_vec())
            .map_err(|e| core_error(e.to_string()))?;
    Ok(arr.to_pyarray(py))
}

/// Every metric of integer-coded labels, as fractions.
#[pyfunction]
fn compute_metrics<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    y_pred: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let cm = confusion_of(py, &y_true, &y_pred, n_classes)?;
    metrics_dict(py, &cm.metrics())
}

/// Every metric of a confusion matrix of counts (`C x C` or `C x (C + 1)`).
#[pyfunction]
fn metrics_from_confusion<'py>(
    py: Python<'py>,
    counts: PyReadonlyArray2<'py, u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let a = counts.as_array();
    let (rows, cols) = a.dim();
    let flat: Vec<u64> = a.iter().copied().collect();
    let cm = Confusion::from_counts(&flat, rows, cols).map_err(value_error)?;
    metrics_dict(py, &cm.metrics())
}

/// Every metric of many confusion matrices at once, `runs x C x (C + 1)` counts (the last column
/// for "no prediction"): a dict of arrays, `n`, `acc`, `war`, `uar`, `waf`, `macro_f1` (one
/// value per run) and `recall` (`runs x C`, NaN for a class absent from the truth). Each run's
/// values are those of `metrics_from_confusion` on its matrix, bit for bit.
#[pyfunction]
fn metrics_from_confusions<'py>(
    py: Python<'py>,
    counts: PyReadonlyArray3<'py, u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let a = counts.as_array();
    let (runs, rows, cols) = a.dim();
    if rows == 0 || cols != rows + 1 {
        return Err(value_error(MetricError::BadShape { rows, cols }));
    }
    let flat: Vec<u64> = a.iter().copied().collect();
    let all = py
        .detach(|| {
            flat.chunks_exact(rows * cols)
                .enumerate()
                .map(|(i, c)| {
                    Confusion::from_counts(c, rows, cols)
                        .map(|cm| cm.metrics())
                        .map_err(|e| format!("run {i}: {e}"))
                })
                .collect::<Result<Vec<Metrics>, String>>()
        })
        .map_err(core_error)?;
    let col = |f: fn(&Metrics) -> f64| all.iter().map(f).collect::<Vec<f64>>();
    let d = PyDict::new(py);
    let n: Vec<u64> = all.iter().map(|m| m.n).collect();
    d.set_item("n", n.to_pyarray(py))?;
    d.set_item("acc", col(|m| m.acc).to_pyarray(py))?;
    d.set_item("war", col(|m| m.war).to_pyarray(py))?;
    d.set_item("uar", col(|m| m.uar).to_pyarray(py))?;
    d.set_item("waf", col(|m| m.waf).to_pyarray(py))?;
    d.set_item("macro_f1", col(|m| m.macro_f1).to_pyarray(py))?;
    let recall: Vec<f64> = all.iter().flat_map(|m| m.recall.iter().copied()).collect();
    let recall = numpy::ndarray::Array2::from_shape_vec((runs, rows), recall)
        .map_err(|e| core_error(e.to_string()))?;
    d.set_item("recall", recall.to_pyarray(py))?;
    Ok(d)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(confusion_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(compute_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(metrics_from_confusion, m)?)?;
    m.add_function(wrap_pyfunction!(metrics_from_confusions, m)?)?;
    Ok(())
}
