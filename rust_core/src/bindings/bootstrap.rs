//! Bindings of `crate::bootstrap`: argument conversion, the thread pool and GIL release.

use std::sync::{Arc, Mutex};

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2, ToPyArray};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::ThreadPool;

use crate::bootstrap::{
    self, interval, BootstrapError, CiMethod, CiResult, CountsJob, DiffResult, Job, PairedJob,
    Sampler, Settings,
};
use crate::metrics::MetricKind;

fn value_error(e: BootstrapError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Thread pools by (process id, size). A pool inherited through `fork` has no threads in the
/// child, so a new one is made there and the stale one is never touched.
static POOLS: Mutex<Vec<(u32, usize, Arc<ThreadPool>)>> = Mutex::new(Vec::new());

fn default_threads() -> usize {
    std::env::var("GER_REPLAY_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn pool(threads: Option<usize>) -> PyResult<Arc<ThreadPool>> {
    let n = threads.unwrap_or_else(default_threads).max(1);
    let pid = std::process::id();
    let mut pools = POOLS
        .lock()
        .map_err(|_| PyRuntimeError::new_err("bootstrap thread pool registry is poisoned"))?;
    if pools.iter().any(|(p, _, _)| *p != pid) {
        // Forked: the threads of these pools do not exist here. Leak them rather than drop.
        for (_, _, stale) in pools.drain(..) {
            std::mem::forget(stale);
        }
    }
    if let Some((_, _, p)) = pools.iter().find(|(_, k, _)| *k == n) {
        return Ok(Arc::clone(p));
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("ger-replay-bootstrap-{i}"))
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} threads: {e}")))?,
    );
    pools.push((pid, n, Arc::clone(&p)));
    Ok(p)
}

/// Runs `job` on a pool of `threads` with the GIL released; errors become `ValueError`.
fn detached<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    job: impl FnOnce() -> Result<T, BootstrapError> + Send,
) -> PyResult<T> {
    let pool = pool(threads)?;
    py.detach(|| pool.install(job)).map_err(value_error)
}

fn kind_of(metric: &str) -> PyResult<MetricKind> {
    MetricKind::parse(metric).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown metric {metric:?}: expected acc, war, uar, waf or macro_f1"
        ))
    })
}

fn settings(
    n_resamples: usize,
    confidence: f64,
    method: &str,
    seed: u64,
    sampler: &str,
) -> PyResult<Settings> {
    Ok(Settings {
        n_resamples,
        confidence,
        method: CiMethod::parse(method).ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown method {method:?}: expected percentile or bca"
            ))
        })?,
        seed,
        sampler: Sampler::parse(sampler).ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown sampler {sampler:?}: expected auto, counts or index"
            ))
        })?,
    })
}

fn codes(a: &PyReadonlyArray1<'_, i64>) -> Vec<i64> {
    a.as_array().to_vec()
}

fn sampler_name(s: Sampler) -> &'static str {
    match s {
        Sampler::Auto => "auto",
        Sampler::Counts => "counts",
        Sampler::Index => "index",
    }
}

fn ci_dict<'py>(py: Python<'py>, r: &CiResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("estimate", r.estimate)?;
    d.set_item("low", r.low)?;
    d.set_item("high", r.high)?;
    d.set_item("n_units", r.n_units)?;
    d.set_item("n_profiles", r.n_profiles)?;
    d.set_item("sampler", sampler_name(r.sampler))?;
    Ok(d)
}

fn diff_dict<'py>(py: Python<'py>, r: &DiffResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("estimate_a", r.estimate_a)?;
    d.set_item("estimate_b", r.estimate_b)?;
    d.set_item("diff", r.diff)?;
    d.set_item("low", r.low)?;
    d.set_item("high", r.high)?;
    d.set_item("p_value", r.p_value)?;
    d.set_item("mcnemar_p", r.mcnemar_p)?;
    d.set_item("only_a", r.only_a)?;
    d.set_item("only_b", r.only_b)?;
    d.set_item("n_units", r.n_units)?;
    d.set_item("n_profiles", r.n_profiles)?;
    Ok(d)
}

/// Bootstrap interval of one metric of integer-coded labels (fractions).
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, n_classes, metric="acc", n_resamples=10000, confidence=0.95,
    method="percentile", seed=0, groups=None, sampler="auto", threads=None))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_ci<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    y_pred: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    n_resamples: usize,
    confidence: f64,
    method: &str,
    seed: u64,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    sampler: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = settings(n_resamples, confidence, method, seed, sampler)?;
    let kind = kind_of(metric)?;
    let (t, p, g) = (codes(&y_true), codes(&y_pred), groups.as_ref().map(codes));
    let r = detached(py, threads, || {
        bootstrap::confidence_interval(
            &Job {
                truth: &t,
                pred: &p,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s,
        )
    })?;
    ci_dict(py, &r)
}

/// Intervals of several runs at once, each `(y_true, y_pred, n_classes, metric, groups)`; runs
/// in parallel, each result equal to its own `bootstrap_ci`.
#[pyfunction]
#[pyo3(signature = (jobs, n_resamples=10000, confidence=0.95, method="percentile", seed=0,
    sampler="auto", threads=None))]
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn bootstrap_ci_many<'py>(
    py: Python<'py>,
    jobs: Vec<(
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, i64>,
        usize,
        String,
        Option<PyReadonlyArray1<'py, i64>>,
    )>,
    n_resamples: usize,
    confidence: f64,
    method: &str,
    seed: u64,
    sampler: &str,
    threads: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let s = settings(n_resamples, confidence, method, seed, sampler)?;
    let mut data = Vec::with_capacity(jobs.len());
    for (t, p, c, m, g) in &jobs {
        data.push((codes(t), codes(p), *c, kind_of(m)?, g.as_ref().map(codes)));
    }
    let pool = pool(threads)?;
    let results = py.detach(|| {
        let views: Vec<Job<'_>> = data
            .iter()
            .map(|(t, p, c, k, g)| Job {
                truth: t,
                pred: p,
                n_classes: *c,
                kind: *k,
                groups: g.as_deref(),
            })
            .collect();
        pool.install(|| bootstrap::confidence_intervals(&views, &s))
    });
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let r = r.map_err(|e| PyValueError::new_err(format!("job {i}: {e}")))?;
            ci_dict(py, &r)
        })
        .collect()
}

/// Intervals of several runs given by their confusion counts (`n_classes x (n_classes + 1)`,
/// the last column for "no prediction"), in parallel over runs: each equals
/// `bootstrap_ci` on any samples with those counts, bit for bit.
#[pyfunction]
#[pyo3(signature = (jobs, n_resamples=10000, confidence=0.95, method="percentile", seed=0,
    sampler="auto", threads=None))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_ci_counts_many<'py>(
    py: Python<'py>,
    jobs: Vec<(PyReadonlyArray2<'py, u64>, String)>,
    n_resamples: usize,
    confidence: f64,
    method: &str,
    seed: u64,
    sampler: &str,
    threads: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let s = settings(n_resamples, confidence, method, seed, sampler)?;
    let mut data = Vec::with_capacity(jobs.len());
    for (i, (counts, m)) in jobs.iter().enumerate() {
        let a = counts.as_array();
        let (rows, cols) = a.dim();
        if cols != rows + 1 {
            return Err(PyValueError::new_err(format!(
                "job {i}: confusion counts must be C x (C + 1), got {rows} x {cols}"
            )));
        }
        data.push((a.iter().copied().collect::<Vec<u64>>(), rows, kind_of(m)?));
    }
    let pool = pool(threads)?;
    let results = py.detach(|| {
        let views: Vec<CountsJob<'_>> = data
            .iter()
            .map(|(c, n, k)| CountsJob {
                counts: c,
                n_classes: *n,
                kind: *k,
            })
            .collect();
        pool.install(|| bootstrap::confidence_intervals_from_counts(&views, &s))
    });
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let r = r.map_err(|e| PyValueError::new_err(format!("job {i}: {e}")))?;
            ci_dict(py, &r)
        })
        .collect()
}

/// The bootstrap distribution of one metric (fractions, resample order).
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, n_classes, metric="acc", n_resamples=10000, seed=0,
    groups=None, sampler="auto", threads=None))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_distribution<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    y_pred: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    n_resamples: usize,
    seed: u64,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    sampler: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let s = settings(n_resamples, 0.95, "percentile", seed, sampler)?;
    let kind = kind_of(metric)?;
    let (t, p, g) = (codes(&y_true), codes(&y_pred), groups.as_ref().map(codes));
    let d = detached(py, threads, || {
        bootstrap::ci_distribution(
            &Job {
                truth: &t,
                pred: &p,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s,
        )
    })?;
    Ok(d.to_pyarray(py))
}

/// Paired comparison of two runs on the same samples: metric(b) - metric(a) (fractions).
#[pyfunction]
#[pyo3(signature = (y_true, pred_a, pred_b, n_classes, metric="acc", n_resamples=10000,
    confidence=0.95, method="percentile", seed=0, groups=None, sampler="auto", threads=None))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_diff<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    pred_a: PyReadonlyArray1<'py, i64>,
    pred_b: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    n_resamples: usize,
    confidence: f64,
    method: &str,
    seed: u64,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    sampler: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = settings(n_resamples, confidence, method, seed, sampler)?;
    let kind = kind_of(metric)?;
    let (t, a, b) = (codes(&y_true), codes(&pred_a), codes(&pred_b));
    let g = groups.as_ref().map(codes);
    let r = detached(py, threads, || {
        bootstrap::paired_difference(
            &PairedJob {
                truth: &t,
                pred_a: &a,
                pred_b: &b,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s,
        )
    })?;
    diff_dict(py, &r)
}

/// The bootstrap distribution of metric(b) - metric(a) (fractions, resample order).
#[pyfunction]
#[pyo3(signature = (y_true, pred_a, pred_b, n_classes, metric="acc", n_resamples=10000, seed=0,
    groups=None, sampler="auto", threads=None))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_diff_distribution<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    pred_a: PyReadonlyArray1<'py, i64>,
    pred_b: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    n_resamples: usize,
    seed: u64,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    sampler: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let s = settings(n_resamples, 0.95, "percentile", seed, sampler)?;
    let kind = kind_of(metric)?;
    let (t, a, b) = (codes(&y_true), codes(&pred_a), codes(&pred_b));
    let g = groups.as_ref().map(codes);
    let d = detached(py, threads, || {
        bootstrap::diff_distribution(
            &PairedJob {
                truth: &t,
                pred_a: &a,
                pred_b: &b,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s,
        )
    })?;
    Ok(d.to_pyarray(py))
}

/// Exact two-sided McNemar p-value from the discordant counts.
#[pyfunction]
fn mcnemar_exact(only_a: u64, only_b: u64) -> f64 {
    interval::mcnemar_exact(only_a, only_b)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(bootstrap_ci, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_ci_many, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_ci_counts_many, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_distribution, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_diff, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_diff_distribution, m)?)?;
    m.add_function(wrap_pyfunction!(mcnemar_exact, m)?)?;
    Ok(())
}
