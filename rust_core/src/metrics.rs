//! The metrics kernel: a confusion matrix from integer-coded labels and every metric of the
//! benchmark computed from it (ACC, WAR, UAR, WAF, macro-F1, per-class precision, recall, F1).
//!
//! Classes are coded `0..n_classes`. A prediction coded negative (or `>= n_classes`) means "no
//! usable answer": it lands in an extra last column, so it counts against recall but is no class.

/// Counts of (truth, prediction): `n_classes` rows and `n_classes + 1` columns, row-major; the
/// last column holds the samples with no usable prediction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    n_classes: usize,
    counts: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricError {
    Empty,
    NoClasses,
    LengthMismatch {
        truth: usize,
        pred: usize,
    },
    TruthOutOfRange {
        index: usize,
        value: i64,
        n_classes: usize,
    },
    BadShape {
        rows: usize,
        cols: usize,
    },
}

impl std::fmt::Display for MetricError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricError::Empty => write!(f, "no samples to score: the input is empty"),
            MetricError::NoClasses => write!(f, "n_classes must be at least 1"),
            MetricError::LengthMismatch { truth, pred } => {
                write!(f, "y_true has {truth} samples but y_pred has {pred}")
            }
            MetricError::TruthOutOfRange {
                index,
                value,
                n_classes,
            } => write!(
                f,
                "y_true[{index}] = {value} is not a class code in 0..{n_classes}"
            ),
            MetricError::BadShape { rows, cols } => write!(
                f,
                "a confusion matrix needs C rows and C or C + 1 columns, got {rows} x {cols}"
            ),
        }
    }
}

impl std::error::Error for MetricError {}

impl Confusion {
    /// Counts the pairs. Fails on empty input, unequal lengths or a truth outside `0..n_classes`.
    pub fn from_codes(
        y_true: &[i64],
        y_pred: &[i64],
        n_classes: usize,
    ) -> Result<Self, MetricError> {
        if n_classes == 0 {
            return Err(MetricError::NoClasses);
        }
        if y_true.len() != y_pred.len() {
            return Err(MetricError::LengthMismatch {
                truth: y_true.len(),
                pred: y_pred.len(),
            });
        }
        if y_true.is_empty() {
            return Err(MetricError::Empty);
        }
        let cols = n_classes + 1;
        let mut counts = vec![0u64; n_classes * cols];
        for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
            if t < 0 || t as u64 >= n_classes as u64 {
                return Err(MetricError::TruthOutOfRange {
                    index: i,
                    value: t,
                    n_classes,
                });
            }
            let col = if p < 0 || p as u64 >= n_classes as u64 {
                n_classes
            } else {
                p as usize
            };
            counts[t as usize * cols + col] += 1;
        }
        Ok(Confusion { n_classes, counts })
    }

    /// Wraps counts given as `rows x cols`, with `cols` equal to `rows` (no "none" column) or
    /// `rows + 1`.
    pub fn from_counts(counts: &[u64], rows: usize, cols: usize) -> Result<Self, MetricError> {
        if rows == 0 || (cols != rows && cols != rows + 1) || counts.len() != rows * cols {
            return Err(MetricError::BadShape { rows, cols });
        }
        let mut full = vec![0u64; rows * (rows + 1)];
        for r in 0..rows {
            full[r * (rows + 1)..r * (rows + 1) + cols]
                .copy_from_slice(&counts[r * cols..(r + 1) * cols]);
        }
        let cm = Confusion {
            n_classes: rows,
            counts: full,
        };
        if cm.total() == 0 {
            return Err(MetricError::Empty);
        }
        Ok(cm)
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Row-major counts, `n_classes x (n_classes + 1)`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The count of (truth, pred); `pred == n_classes` is the "no prediction" column. None
    /// outside the matrix.
    pub fn get(&self, truth: usize, pred: usize) -> Option<u64> {
        if truth >= self.n_classes || pred > self.n_classes {
            return None;
        }
        self.counts
            .get(truth * (self.n_classes + 1) + pred)
            .copied()
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn metrics(&self) -> Metrics {
        metrics_from_counts(&self.counts, self.n_classes)
    }
}

/// Every metric of one confusion matrix. Fractions in [0, 1], not percent.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub n: u64,
    pub acc: f64,
    /// Weighted average recall: equal to accuracy, kept by name because the paper reports it.
    pub war: f64,
    /// Unweighted average recall over the classes present in the truth.
    pub uar: f64,
    /// F1 per class weighted by true support (scikit-learn's `average="weighted"`).
    pub waf: f64,
    /// Mean F1 over the classes present in the truth or the predictions.
    pub macro_f1: f64,
    pub support: Vec<u64>,
    pub precision: Vec<f64>,
    /// Recall per class; NaN for a class absent from the truth.
    pub recall: Vec<f64>,
    pub f1: Vec<f64>,
}

/// The metric kernel on raw counts laid out as in [`Confusion::counts`]. Allocation-light: it is
/// the inner loop of the bootstrap.
pub fn metrics_from_counts(counts: &[u64], n_classes: usize) -> Metrics {
    let c = n_classes;
    let cols = c + 1;
    let mut support = vec![0u64; c];
    let mut predicted = vec![0u64; c];
    let mut n = 0u64;
    let mut correct = 0u64;
    for t in 0..c {
        for p in 0..cols {
            let v = counts[t * cols + p];
            support[t] += v;
            if p < c {
                predicted[p] += v;
            }
            n += v;
        }
        correct += counts[t * cols + t];
    }
    let mut precision = vec![0.0; c];
    let mut recall = vec![f64::NAN; c];
    let mut f1 = vec![0.0; c];
    let (mut uar_sum, mut uar_k) = (0.0, 0u32);
    let (mut f1_sum, mut f1_k) = (0.0, 0u32);
    let mut waf = 0.0;
    for k in 0..c {
        let tp = counts[k * cols + k] as f64;
        if predicted[k] > 0 {
            precision[k] = tp / predicted[k] as f64;
        }
        if support[k] > 0 {
            recall[k] = tp / support[k] as f64;
            uar_sum += recall[k];
            uar_k += 1;
        }
        let denom = (support[k] + predicted[k]) as f64;
        if denom > 0.0 {
            f1[k] = 2.0 * tp / denom;
            f1_sum += f1[k];
            f1_k += 1;
        }
        waf += f1[k] * support[k] as f64;
    }
    let nf = n as f64;
    let acc = if n > 0 { correct as f64 / nf } else { f64::NAN };
    Metrics {
        n,
        acc,
        war: acc,
        uar: if uar_k > 0 {
            uar_sum / uar_k as f64
        } else {
            f64::NAN
        },
        waf: if n > 0 { waf / nf } else { f64::NAN },
        macro_f1: if f1_k > 0 {
            f1_sum / f1_k as f64
        } else {
            f64::NAN
        },
        support,
        precision,
        recall,
        f1,
    }
}

/// The scalar metrics by name, as the bootstrap and Python ask for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Acc,
    War,
    Uar,
    Waf,
    MacroF1,
}

impl MetricKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "acc" | "accuracy" => Some(MetricKind::Acc),
            "war" => Some(MetricKind::War),
            "uar" => Some(MetricKind::Uar),
            "waf" | "weighted_f1" => Some(MetricKind::Waf),
            "macro_f1" | "f1_macro" | "macro-f1" => Some(MetricKind::MacroF1),
            _ => None,
        }
    }

    pub fn of(self, m: &Metrics) -> f64 {
        match self {
            MetricKind::Acc => m.acc,
            MetricKind::War => m.war,
            MetricKind::Uar => m.uar,
            MetricKind::Waf => m.waf,
            MetricKind::MacroF1 => m.macro_f1,
        }
    }

    /// The metric of raw counts, without the per-class vectors where that is cheaper. Counts
    /// laid out as in [`Confusion::counts`]; counts of another length give NaN.
    pub fn from_counts(self, counts: &[u64], n_classes: usize) -> f64 {
        let c = n_classes;
        let cols = c + 1;
        if counts.len() != c * cols {
            return f64::NAN;
        }
        let at = |t: usize, p: usize| counts.get(t * cols + p).copied().unwrap_or(0);
        match self {
            MetricKind::Acc | MetricKind::War => {
                let n: u64 = counts.iter().sum();
                if n == 0 {
                    return f64::NAN;
                }
                let correct: u64 = (0..c).map(|k| at(k, k)).sum();
                correct as f64 / n as f64
            }
            MetricKind::Uar | MetricKind::Waf | MetricKind::MacroF1 => {
                // The same arithmetic, in the same order, as `metrics_from_counts`, without its
                // per-class vectors: this is the inner loop of the bootstrap.
                let (mut n, mut sum, mut k_used) = (0u64, 0.0f64, 0u32);
                for (k, row) in counts.chunks_exact(cols).enumerate() {
                    let support: u64 = row.iter().sum();
                    let predicted: u64 = (0..c).map(|t| at(t, k)).sum();
                    let tp = row.get(k).copied().unwrap_or(0) as f64;
                    n += support;
                    let denom = (support + predicted) as f64;
                    match self {
                        MetricKind::Uar if support > 0 => {
                            sum += tp / support as f64;
                            k_used += 1;
                        }
                        MetricKind::Waf => {
                            let f1 = if denom > 0.0 { 2.0 * tp / denom } else { 0.0 };
                            sum += f1 * support as f64;
                        }
                        MetricKind::MacroF1 if denom > 0.0 => {
                            sum += 2.0 * tp / denom;
                            k_used += 1;
                        }
                        _ => {}
                    }
                }
                match self {
                    MetricKind::Waf if n > 0 => sum / n as f64,
                    MetricKind::Uar | MetricKind::MacroF1 if k_used > 0 => sum / k_used as f64,
                    _ => f64::NAN,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn counts_and_basic_metrics() {
        let t = [0, 0, 1, 1, 2, 2];
        let p = [0, 1, 1, 1, 2, -1];
        let cm = Confusion::from_codes(&t, &p, 3).unwrap();
        assert_eq!(cm.get(0, 0), Some(1));
        assert_eq!(cm.get(0, 1), Some(1));
        assert_eq!(cm.get(2, 3), Some(1));
        let m = cm.metrics();
        assert!(close(m.acc, 4.0 / 6.0));
        assert!(close(m.war, m.acc));
        assert!(close(m.uar, (0.5 + 1.0 + 0.5) / 3.0));
        // F1: class 0: 2*1/(2+1)=2/3; class 1: 2*2/(2+3)=0.8; class 2: 2*1/(2+1)=2/3
        assert!(close(m.f1[1], 0.8));
        assert!(close(
            m.waf,
            (2.0 / 3.0 * 2.0 + 0.8 * 2.0 + 2.0 / 3.0 * 2.0) / 6.0
        ));
        assert!(close(m.macro_f1, (2.0 / 3.0 + 0.8 + 2.0 / 3.0) / 3.0));
    }

    #[test]
    fn absent_class_has_nan_recall_and_is_left_out_of_uar() {
        let cm = Confusion::from_codes(&[0, 0], &[0, 1], 3).unwrap();
        let m = cm.metrics();
        assert!(m.recall[2].is_nan());
        assert!(m.recall[1].is_nan());
        assert!(close(m.uar, 0.5));
        // class 1 predicted but absent from truth: counts in macro-F1 with F1 = 0
        assert!(close(m.macro_f1, (2.0 / 3.0 + 0.0) / 2.0));
    }

    #[test]
    fn one_class() {
        let m = Confusion::from_codes(&[0, 0, 0], &[0, 0, -5], 1)
            .unwrap()
            .metrics();
        assert!(close(m.acc, 2.0 / 3.0));
        assert!(close(m.f1[0], 0.8));
    }

    #[test]
    fn errors_are_named() {
        assert_eq!(Confusion::from_codes(&[], &[], 2), Err(MetricError::Empty));
        assert_eq!(
            Confusion::from_codes(&[0], &[0, 1], 2),
            Err(MetricError::LengthMismatch { truth: 1, pred: 2 })
        );
        assert_eq!(
            Confusion::from_codes(&[3], &[0], 2),
            Err(MetricError::TruthOutOfRange {
                index: 0,
                value: 3,
                n_classes: 2
            })
        );
        assert_eq!(
            Confusion::from_codes(&[0], &[0], 0),
            Err(MetricError::NoClasses)
        );
    }

    #[test]
    fn from_counts_accepts_square_and_extra_column() {
        let sq = Confusion::from_counts(&[3, 1, 0, 2], 2, 2).unwrap();
        assert_eq!(sq.get(0, 0), Some(3));
        assert_eq!(sq.get(1, 2), Some(0));
        let ext = Confusion::from_counts(&[3, 1, 1, 0, 2, 0], 2, 3).unwrap();
        assert_eq!(ext.get(0, 2), Some(1));
        assert!(Confusion::from_counts(&[1, 2, 3], 1, 3).is_err());
        assert_eq!(
            Confusion::from_counts(&[0, 0, 0, 0], 2, 2),
            Err(MetricError::Empty)
        );
    }

    #[test]
    fn kind_from_counts_matches_full_metrics() {
        let cm = Confusion::from_codes(&[0, 1, 2, 2, 1, 0, 1], &[0, 2, 2, 1, 1, -1, 1], 3).unwrap();
        let m = cm.metrics();
        for k in [
            MetricKind::Acc,
            MetricKind::War,
            MetricKind::Uar,
            MetricKind::Waf,
            MetricKind::MacroF1,
        ] {
            assert!(close(k.from_counts(cm.counts(), 3), k.of(&m)));
        }
        assert_eq!(MetricKind::parse("WAF"), Some(MetricKind::Waf));
        assert_eq!(MetricKind::parse("nope"), None);
    }

    #[test]
    fn access_outside_the_matrix_is_checked() {
        let cm = Confusion::from_counts(&[3, 1, 0, 2], 2, 2).unwrap();
        assert_eq!(cm.get(1, 1), Some(2));
        assert_eq!(cm.get(1, 2), Some(0)); // the "no prediction" column
        assert_eq!(cm.get(2, 0), None);
        assert_eq!(cm.get(0, 3), None);
        assert!(MetricKind::Acc.from_counts(&[1, 2, 3], 2).is_nan());
        assert!(MetricKind::Uar.from_counts(&[], 2).is_nan());
        let full = cm.counts();
        assert!(close(MetricKind::Acc.from_counts(full, 2), 5.0 / 6.0));
    }
}
