//! Bootstrap confidence intervals for the metrics kernel, and paired comparisons of two runs.
//!
//! Every metric of [`crate::metrics`] is a function of confusion counts, so a resample of n
//! (truth, prediction) pairs is fully described by its counts, which follow
//! Multinomial(n, cell frequencies): the bootstrap draws those counts directly (see
//! [`resample`]) and evaluates the metric with [`MetricKind::from_counts`]. Each metric first
//! reduces the confusion cells to what it reads (accuracy: correct or not; UAR: per true class,
//! correct or not), which shrinks the number of cells to draw. Groups (several samples of one
//! subject) resample as whole units. A paired comparison resamples the joint cells of two runs on
//! the same samples and reads the difference of the metric.

pub mod interval;
pub mod multinomial;
pub mod resample;
pub mod units;

use rayon::prelude::*;

use crate::metrics::{MetricError, MetricKind};
pub use interval::CiMethod;
pub use resample::{Sampler, Statistic};
pub use units::Units;

#[derive(Clone, Debug, PartialEq)]
pub enum BootstrapError {
    Metric(MetricError),
    NoResamples,
    BadConfidence(f64),
    GroupsLength { groups: usize, samples: usize },
}

impl std::fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BootstrapError::Metric(e) => e.fmt(f),
            BootstrapError::NoResamples => write!(f, "n_resamples must be at least 1"),
            BootstrapError::BadConfidence(c) => {
                write!(f, "confidence must lie strictly between 0 and 1, got {c}")
            }
            BootstrapError::GroupsLength { groups, samples } => {
                write!(
                    f,
                    "groups has {groups} entries but there are {samples} samples"
                )
            }
        }
    }
}

impl std::error::Error for BootstrapError {}

impl From<MetricError> for BootstrapError {
    fn from(e: MetricError) -> Self {
        BootstrapError::Metric(e)
    }
}

/// How to resample and which interval to report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub n_resamples: usize,
    pub confidence: f64,
    pub method: CiMethod,
    pub seed: u64,
    pub sampler: Sampler,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            n_resamples: 10_000,
            confidence: 0.95,
            method: CiMethod::Percentile,
            seed: 0,
            sampler: Sampler::Auto,
        }
    }
}

impl Settings {
    fn check(&self) -> Result<(), BootstrapError> {
        if self.n_resamples == 0 {
            return Err(BootstrapError::NoResamples);
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(BootstrapError::BadConfidence(self.confidence));
        }
        Ok(())
    }
}

/// The confusion layout a metric reads, and the feature (cell) of one (truth, prediction) pair.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    kind: MetricKind,
    n_classes: usize,
    /// Classes of the reduced confusion matrix.
    classes: usize,
}

impl Layout {
    pub fn new(kind: MetricKind, n_classes: usize) -> Self {
        let classes = match kind {
            MetricKind::Acc | MetricKind::War => 1,
            _ => n_classes,
        };
        Layout {
            kind,
            n_classes,
            classes,
        }
    }

    /// Cells of the reduced confusion matrix (`classes x (classes + 1)`).
    pub fn width(&self) -> usize {
        self.classes * (self.classes + 1)
    }

    pub fn feature(&self, truth: usize, pred: i64) -> u32 {
        let c = self.n_classes;
        let correct = pred == truth as i64;
        let cell = match self.kind {
            // one class: correct at (0, 0), anything else in the "none" column
            MetricKind::Acc | MetricKind::War => usize::from(!correct),
            MetricKind::Uar => truth * (c + 1) + if correct { truth } else { c },
            MetricKind::Waf | MetricKind::MacroF1 => {
                let p = if pred < 0 || pred as u64 >= c as u64 {
                    c
                } else {
                    pred as usize
                };
                truth * (c + 1) + p
            }
        };
        cell as u32
    }

    pub fn eval(&self, counts: &[u64]) -> f64 {
        self.kind.from_counts(counts, self.classes)
    }
}

fn check_codes(truth: &[i64], preds: &[&[i64]], n_classes: usize) -> Result<(), BootstrapError> {
    if n_classes == 0 {
        return Err(MetricError::NoClasses.into());
    }
    for p in preds {
        if p.len() != truth.len() {
            return Err(MetricError::LengthMismatch {
                truth: truth.len(),
                pred: p.len(),
            }
            .into());
        }
    }
    if truth.is_empty() {
        return Err(MetricError::Empty.into());
    }
    if let Some((index, &value)) = truth
        .iter()
        .enumerate()
        .find(|(_, &t)| t < 0 || t as u64 >= n_classes as u64)
    {
        return Err(MetricError::TruthOutOfRange {
            index,
            value,
            n_classes,
        }
        .into());
    }
    Ok(())
}

fn build_units(
    features: &[u32],
    per_unit: usize,
    n_features: usize,
    groups: Option<&[i64]>,
) -> Result<Units, BootstrapError> {
    let samples = features.len() / per_unit;
    match groups {
        None => Ok(Units::from_samples(features, per_unit, n_features)),
        Some(g) if g.len() != samples => Err(BootstrapError::GroupsLength {
            groups: g.len(),
            samples,
        }),
        Some(g) => Ok(Units::from_groups(features, per_unit, g, n_features)),
    }
}

/// One run's data for a confidence interval.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    pub truth: &'a [i64],
    pub pred: &'a [i64],
    pub n_classes: usize,
    pub kind: MetricKind,
    pub groups: Option<&'a [i64]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CiResult {
    /// The metric on the data, a fraction.
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Units resampled (samples, or groups).
    pub n_units: u64,
    /// Distinct unit profiles (K).
    pub n_profiles: usize,
    pub sampler: Sampler,
}

fn single(job: &Job<'_>) -> Result<(Units, Layout), BootstrapError> {
    check_codes(job.truth, &[job.pred], job.n_classes)?;
    let layout = Layout::new(job.kind, job.n_classes);
    let features: Vec<u32> = job
        .truth
        .iter()
        .zip(job.pred)
        .map(|(&t, &p)| layout.feature(t as usize, p))
        .collect();
    let units = build_units(&features, 1, layout.width(), job.groups)?;
    Ok((units, layout))
}

/// The bootstrap distribution of the metric (fractions, resample order).
pub fn ci_distribution(job: &Job<'_>, s: &Settings) -> Result<Vec<f64>, BootstrapError> {
    s.check()?;
    let (units, layout) = single(job)?;
    let stat = |t: &[u64]| layout.eval(t);
    Ok(resample::distribution(
        &units,
        &stat,
        s.n_resamples,
        s.seed,
        s.sampler,
    ))
}

/// A confidence interval of the metric (fractions).
pub fn confidence_interval(job: &Job<'_>, s: &Settings) -> Result<CiResult, BootstrapError> {
    s.check()?;
    let (units, layout) = single(job)?;
    interval_of(&units, layout, s)
}

/// One run given by its confusion counts (`n_classes x (n_classes + 1)`, row-major, the last
/// column for "no prediction", as [`crate::metrics::Confusion::counts`]) rather than by samples.
#[derive(Clone, Copy, Debug)]
pub struct CountsJob<'a> {
    pub counts: &'a [u64],
    pub n_classes: usize,
    pub kind: MetricKind,
}

fn from_counts(job: &CountsJob<'_>) -> Result<(Units, Layout), BootstrapError> {
    let c = job.n_classes;
    if c == 0 {
        return Err(MetricError::NoClasses.into());
    }
    if job.counts.len() != c * (c + 1) {
        return Err(MetricError::BadShape {
            rows: c,
            cols: job.counts.len() / c,
        }
        .into());
    }
    let layout = Layout::new(job.kind, c);
    let mut weights = vec![0u64; layout.width()];
    for t in 0..c {
        for p in 0..=c {
            let k = job.counts[t * (c + 1) + p];
            if k > 0 {
                let code = if p == c { -1 } else { p as i64 };
                weights[layout.feature(t, code) as usize] += k;
            }
        }
    }
    if weights.iter().all(|&w| w == 0) {
        return Err(MetricError::Empty.into());
    }
    Ok((Units::from_feature_weights(&weights), layout))
}

/// A confidence interval from confusion counts: the same result, bit for bit, as
/// [`confidence_interval`] on any samples with these counts (ungrouped samples resample by
/// their cell, whatever their order), without the samples.
pub fn confidence_interval_from_counts(
    job: &CountsJob<'_>,
    s: &Settings,
) -> Result<CiResult, BootstrapError> {
    s.check()?;
    let (units, layout) = from_counts(job)?;
    interval_of(&units, layout, s)
}

/// [`confidence_interval_from_counts`] of several runs, in parallel over runs.
pub fn confidence_intervals_from_counts(
    jobs: &[CountsJob<'_>],
    s: &Settings,
) -> Vec<Result<CiResult, BootstrapError>> {
    jobs.par_iter()
        .map(|j| confidence_interval_from_counts(j, s))
        .collect()
}

fn interval_of(units: &Units, layout: Layout, s: &Settings) -> Result<CiResult, BootstrapError> {
    let stat = |t: &[u64]| layout.eval(t);
    let estimate = layout.eval(&units.observed_totals());
    let dist = resample::distribution(units, &stat, s.n_resamples, s.seed, s.sampler);
    let mut dist = interval::Dist::new(dist);
    let accel = match s.method {
        CiMethod::Bca => interval::acceleration(&resample::jackknife(units, &stat)),
        CiMethod::Percentile => 0.0,
    };
    let (low, high) = interval::interval(&mut dist, estimate, accel, s.confidence, s.method);
    Ok(CiResult {
        estimate,
        low,
        high,
        n_units: units.n_units(),
        n_profiles: units.n_profiles(),
        sampler: s.sampler.resolve(units),
    })
}

/// Intervals of several runs at once, in parallel over runs; each equals its own
/// [`confidence_interval`] with the same settings.
pub fn confidence_intervals(
    jobs: &[Job<'_>],
    s: &Settings,
) -> Vec<Result<CiResult, BootstrapError>> {
    jobs.par_iter().map(|j| confidence_interval(j, s)).collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct DiffResult {
    pub estimate_a: f64,
    pub estimate_b: f64,
    /// b minus a, a fraction.
    pub diff: f64,
    pub low: f64,
    pub high: f64,
    /// Two-sided bootstrap p-value of no difference.
    pub p_value: f64,
    /// Exact McNemar p-value, for accuracy on independent samples (no groups).
    pub mcnemar_p: Option<f64>,
    /// Samples where only a / only b is correct.
    pub only_a: u64,
    pub only_b: u64,
    pub n_units: u64,
    pub n_profiles: usize,
}

/// Two runs on the same samples: truth, and each run's prediction per sample.
#[derive(Clone, Copy, Debug)]
pub struct PairedJob<'a> {
    pub truth: &'a [i64],
    pub pred_a: &'a [i64],
    pub pred_b: &'a [i64],
    pub n_classes: usize,
    pub kind: MetricKind,
    pub groups: Option<&'a [i64]>,
}

fn paired_units(job: &PairedJob<'_>) -> Result<(Units, Layout), BootstrapError> {
    check_codes(job.truth, &[job.pred_a, job.pred_b], job.n_classes)?;
    let layout = Layout::new(job.kind, job.n_classes);
    let w = layout.width() as u32;
    let mut features = Vec::with_capacity(2 * job.truth.len());
    for ((&t, &a), &b) in job.truth.iter().zip(job.pred_a).zip(job.pred_b) {
        features.push(layout.feature(t as usize, a));
        features.push(w + layout.feature(t as usize, b));
    }
    let units = build_units(&features, 2, 2 * layout.width(), job.groups)?;
    Ok((units, layout))
}

fn diff_stat(layout: Layout) -> impl Fn(&[u64]) -> f64 + Sync {
    move |t: &[u64]| {
        let w = layout.width();
        layout.eval(&t[w..]) - layout.eval(&t[..w])
    }
}

/// The bootstrap distribution of metric(b) - metric(a) (fractions, resample order).
pub fn diff_distribution(job: &PairedJob<'_>, s: &Settings) -> Result<Vec<f64>, BootstrapError> {
    s.check()?;
    let (units, layout) = paired_units(job)?;
    Ok(resample::distribution(
        &units,
        &diff_stat(layout),
        s.n_resamples,
        s.seed,
        s.sampler,
    ))
}

/// Paired comparison: the difference b - a, its interval, a two-sided bootstrap p-value and,
/// for accuracy, the exact McNemar test.
pub fn paired_difference(job: &PairedJob<'_>, s: &Settings) -> Result<DiffResult, BootstrapError> {
    s.check()?;
    let (units, layout) = paired_units(job)?;
    let stat = diff_stat(layout);
    let observed = units.observed_totals();
    let w = layout.width();
    let (estimate_a, estimate_b) = (layout.eval(&observed[..w]), layout.eval(&observed[w..]));
    let diff = stat(&observed);
    let dist = resample::distribution(&units, &stat, s.n_resamples, s.seed, s.sampler);
    let mut dist = interval::Dist::new(dist);
    let accel = match s.method {
        CiMethod::Bca => interval::acceleration(&resample::jackknife(&units, &stat)),
        CiMethod::Percentile => 0.0,
    };
    let (low, high) = interval::interval(&mut dist, diff, accel, s.confidence, s.method);
    let (mut only_a, mut only_b) = (0u64, 0u64);
    for ((&t, &a), &b) in job.truth.iter().zip(job.pred_a).zip(job.pred_b) {
        match (a == t, b == t) {
            (true, false) => only_a += 1,
            (false, true) => only_b += 1,
            _ => {}
        }
    }
    let accuracy = matches!(job.kind, MetricKind::Acc | MetricKind::War);
    Ok(DiffResult {
        estimate_a,
        estimate_b,
        diff,
        low,
        high,
        p_value: interval::two_sided_p(&dist),
        mcnemar_p: (accuracy && job.groups.is_none())
            .then(|| interval::mcnemar_exact(only_a, only_b)),
        only_a,
        only_b,
        n_units: units.n_units(),
        n_profiles: units.n_profiles(),
    })
}

#[cfg(test)]
mod tests;
