//! Bindings of `crate::bootstrap`: argument conversion, the thread pool and GIL release.

use std::sync::{Arc, Mutex};

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2, ToPyArray};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use rayon::ThreadPool;

use super::errors::core_error;

use crate::bootstrap::{
    self, interval, BootstrapError, CiMethod, CiResult, CountsJob, DiffResult, Job, PairedJob,
    Sampler, Settings,
};
use crate::metrics::MetricKind;

fn value_error(e: BootstrapError) -> PyErr {
    core_error(e.to_string())
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
        core_error(format!(
            "unknown metric {metric:?}: expected acc, war, uar, waf or macro_f1"
        ))
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

/// How the bootstrap runs: resamples, confidence level, interval method, seed, sampler and
/// threads. One object for every bootstrap function; checked when made.
#[pyclass(frozen, eq, module = "ger_replay._core")]
#[derive(Clone, PartialEq)]
struct BootstrapSettings {
    inner: Settings,
    threads: Option<usize>,
}

#[pymethods]
impl BootstrapSettings {
    #[new]
    #[pyo3(signature = (n_resamples=10000, confidence=0.95, method="percentile", seed=0,
        sampler="auto", threads=None))]
    fn new(
        n_resamples: usize,
        confidence: f64,
        method: &str,
        seed: u64,
        sampler: &str,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let method = CiMethod::parse(method).ok_or_else(|| {
            core_error(format!(
                "unknown method {method:?}: expected percentile or bca"
            ))
        })?;
        let sampler = Sampler::parse(sampler).ok_or_else(|| {
            core_error(format!(
                "unknown sampler {sampler:?}: expected auto, counts or index"
            ))
        })?;
        Ok(BootstrapSettings {
            inner: Settings {
                n_resamples,
                confidence,
                method,
                seed,
                sampler,
            },
            threads,
        })
    }

    #[getter]
    fn n_resamples(&self) -> usize {
        self.inner.n_resamples
    }

    #[getter]
    fn confidence(&self) -> f64 {
        self.inner.confidence
    }

    #[getter]
    fn method(&self) -> &'static str {
        match self.inner.method {
            CiMethod::Percentile => "percentile",
            CiMethod::Bca => "bca",
        }
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }

    #[getter]
    fn sampler(&self) -> &'static str {
        sampler_name(self.inner.sampler)
    }

    #[getter]
    fn threads(&self) -> Option<usize> {
        self.threads
    }

    fn __repr__(&self) -> String {
        format!(
            "BootstrapSettings(n_resamples={}, confidence={}, method={:?}, seed={}, \
             sampler={:?}, threads={})",
            self.inner.n_resamples,
            self.inner.confidence,
            self.method(),
            self.inner.seed,
            self.sampler(),
            self.threads.map_or("None".to_string(), |n| n.to_string()),
        )
    }
}

fn settings_or_default(s: Option<&BootstrapSettings>) -> BootstrapSettings {
    s.cloned().unwrap_or(BootstrapSettings {
        inner: Settings::default(),
        threads: None,
    })
}

/// A bootstrap interval of one metric (fractions).
#[pyclass(frozen, eq, get_all, module = "ger_replay._core")]
#[derive(Clone, PartialEq)]
struct BootstrapInterval {
    /// The metric on the data.
    estimate: f64,
    low: f64,
    high: f64,
    /// Units resampled (samples, or groups).
    n_units: u64,
    /// Distinct unit profiles.
    n_profiles: usize,
    /// The resampler used: "counts" or "index".
    sampler: &'static str,
}

impl From<&CiResult> for BootstrapInterval {
    fn from(r: &CiResult) -> Self {
        BootstrapInterval {
            estimate: r.estimate,
            low: r.low,
            high: r.high,
            n_units: r.n_units,
            n_profiles: r.n_profiles,
            sampler: sampler_name(r.sampler),
        }
    }
}

#[pymethods]
impl BootstrapInterval {
    fn __repr__(&self) -> String {
        format!(
            "BootstrapInterval(estimate={}, low={}, high={}, n_units={}, n_profiles={}, \
             sampler={:?})",
            self.estimate, self.low, self.high, self.n_units, self.n_profiles, self.sampler
        )
    }
}

/// A paired comparison: metric(b) - metric(a) with its interval (fractions).
#[pyclass(frozen, eq, get_all, module = "ger_replay._core")]
#[derive(Clone, PartialEq)]
struct BootstrapDiff {
    estimate_a: f64,
    estimate_b: f64,
    /// b minus a.
    diff: f64,
    low: f64,
    high: f64,
    /// Two-sided bootstrap p-value of no difference.
    p_value: f64,
    /// Exact McNemar p-value (accuracy on independent samples), else None.
    mcnemar_p: Option<f64>,
    /// Samples where only a / only b is correct.
    only_a: u64,
    only_b: u64,
    n_units: u64,
    n_profiles: usize,
}

impl From<&DiffResult> for BootstrapDiff {
    fn from(r: &DiffResult) -> Self {
        BootstrapDiff {
            estimate_a: r.estimate_a,
            estimate_b: r.estimate_b,
            diff: r.diff,
            low: r.low,
            high: r.high,
            p_value: r.p_value,
            mcnemar_p: r.mcnemar_p,
            only_a: r.only_a,
            only_b: r.only_b,
            n_units: r.n_units,
            n_profiles: r.n_profiles,
        }
    }
}

#[pymethods]
impl BootstrapDiff {
    fn __repr__(&self) -> String {
        format!(
            "BootstrapDiff(diff={}, low={}, high={}, p_value={}, mcnemar_p={:?})",
            self.diff, self.low, self.high, self.p_value, self.mcnemar_p
        )
    }
}

/// Bootstrap interval of one metric of integer-coded labels.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, n_classes, metric="acc", groups=None, settings=None))]
fn bootstrap_ci<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    y_pred: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    settings: Option<&BootstrapSettings>,
) -> PyResult<BootstrapInterval> {
    let s = settings_or_default(settings);
    let kind = kind_of(metric)?;
    let (t, p, g) = (codes(&y_true), codes(&y_pred), groups.as_ref().map(codes));
    let r = detached(py, s.threads, || {
        bootstrap::confidence_interval(
            &Job {
                truth: &t,
                pred: &p,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s.inner,
        )
    })?;
    Ok(BootstrapInterval::from(&r))
}

/// One run of `bootstrap_ci_many`: truth, predictions, classes, metric, groups.
type ManyJob<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    usize,
    String,
    Option<PyReadonlyArray1<'py, i64>>,
);

/// Intervals of several runs at once, each `(y_true, y_pred, n_classes, metric, groups)`; runs
/// in parallel, each result equal to its own `bootstrap_ci`.
#[pyfunction]
#[pyo3(signature = (jobs, settings=None))]
fn bootstrap_ci_many<'py>(
    py: Python<'py>,
    jobs: Vec<ManyJob<'py>>,
    settings: Option<&BootstrapSettings>,
) -> PyResult<Vec<BootstrapInterval>> {
    let s = settings_or_default(settings);
    let mut data = Vec::with_capacity(jobs.len());
    for (t, p, c, m, g) in &jobs {
        data.push((codes(t), codes(p), *c, kind_of(m)?, g.as_ref().map(codes)));
    }
    let pool = pool(s.threads)?;
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
        pool.install(|| bootstrap::confidence_intervals(&views, &s.inner))
    });
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.map(|r| BootstrapInterval::from(&r))
                .map_err(|e| core_error(format!("job {i}: {e}")))
        })
        .collect()
}

/// Intervals of several runs given by their confusion counts (`n_classes x (n_classes + 1)`,
/// the last column for "no prediction") and metric, in parallel over runs: each equals
/// `bootstrap_ci` on any samples with those counts, bit for bit.
#[pyfunction]
#[pyo3(signature = (jobs, settings=None))]
fn bootstrap_ci_counts_many<'py>(
    py: Python<'py>,
    jobs: Vec<(PyReadonlyArray2<'py, u64>, String)>,
    settings: Option<&BootstrapSettings>,
) -> PyResult<Vec<BootstrapInterval>> {
    let s = settings_or_default(settings);
    let mut data = Vec::with_capacity(jobs.len());
    for (i, (counts, m)) in jobs.iter().enumerate() {
        let a = counts.as_array();
        let (rows, cols) = a.dim();
        if cols != rows + 1 {
            return Err(core_error(format!(
                "job {i}: confusion counts must be C x (C + 1), got {rows} x {cols}"
            )));
        }
        data.push((a.iter().copied().collect::<Vec<u64>>(), rows, kind_of(m)?));
    }
    let pool = pool(s.threads)?;
    let results = py.detach(|| {
        let views: Vec<CountsJob<'_>> = data
            .iter()
            .map(|(c, n, k)| CountsJob {
                counts: c,
                n_classes: *n,
                kind: *k,
            })
            .collect();
        pool.install(|| bootstrap::confidence_intervals_from_counts(&views, &s.inner))
    });
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.map(|r| BootstrapInterval::from(&r))
                .map_err(|e| core_error(format!("job {i}: {e}")))
        })
        .collect()
}

/// The bootstrap distribution of one metric (fractions, resample order).
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, n_classes, metric="acc", groups=None, settings=None))]
fn bootstrap_distribution<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    y_pred: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    settings: Option<&BootstrapSettings>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let s = settings_or_default(settings);
    let kind = kind_of(metric)?;
    let (t, p, g) = (codes(&y_true), codes(&y_pred), groups.as_ref().map(codes));
    let d = detached(py, s.threads, || {
        bootstrap::ci_distribution(
            &Job {
                truth: &t,
                pred: &p,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s.inner,
        )
    })?;
    Ok(d.to_pyarray(py))
}

/// Paired comparison of two runs on the same samples: metric(b) - metric(a) (fractions).
#[pyfunction]
#[pyo3(signature = (y_true, pred_a, pred_b, n_classes, metric="acc", groups=None, settings=None))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_diff<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    pred_a: PyReadonlyArray1<'py, i64>,
    pred_b: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    settings: Option<&BootstrapSettings>,
) -> PyResult<BootstrapDiff> {
    let s = settings_or_default(settings);
    let kind = kind_of(metric)?;
    let (t, a, b) = (codes(&y_true), codes(&pred_a), codes(&pred_b));
    let g = groups.as_ref().map(codes);
    let r = detached(py, s.threads, || {
        bootstrap::paired_difference(
            &PairedJob {
                truth: &t,
                pred_a: &a,
                pred_b: &b,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s.inner,
        )
    })?;
    Ok(BootstrapDiff::from(&r))
}

/// The bootstrap distribution of metric(b) - metric(a) (fractions, resample order).
#[pyfunction]
#[pyo3(signature = (y_true, pred_a, pred_b, n_classes, metric="acc", groups=None, settings=None))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_diff_distribution<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'py, i64>,
    pred_a: PyReadonlyArray1<'py, i64>,
    pred_b: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    metric: &str,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    settings: Option<&BootstrapSettings>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let s = settings_or_default(settings);
    let kind = kind_of(metric)?;
    let (t, a, b) = (codes(&y_true), codes(&pred_a), codes(&pred_b));
    let g = groups.as_ref().map(codes);
    let d = detached(py, s.threads, || {
        bootstrap::diff_distribution(
            &PairedJob {
                truth: &t,
                pred_a: &a,
                pred_b: &b,
                n_classes,
                kind,
                groups: g.as_deref(),
            },
            &s.inner,
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
    m.add_class::<BootstrapSettings>()?;
    m.add_class::<BootstrapInterval>()?;
    m.add_class::<BootstrapDiff>()?;
    m.add_function(wrap_pyfunction!(bootstrap_ci, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_ci_many, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_ci_counts_many, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_distribution, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_diff, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_diff_distribution, m)?)?;
    m.add_function(wrap_pyfunction!(mcnemar_exact, m)?)?;
    Ok(())
}
