//! Intervals and tests from a bootstrap distribution: percentile and BCa (as
//! `scipy.stats.bootstrap` defines them), the two-sided bootstrap p-value, and the exact McNemar
//! test. Transcendental functions come from the pure-Rust libm (never the platform's), so results
//! match bit for bit on every machine.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiMethod {
    Percentile,
    Bca,
}

impl CiMethod {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "percentile" => Some(CiMethod::Percentile),
            "bca" => Some(CiMethod::Bca),
            _ => None,
        }
    }
}

/// Standard normal distribution function.
pub fn ndtr(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile (Wichura's AS 241, relative error about 1e-16).
#[allow(clippy::excessive_precision)] // the published coefficients, verbatim
pub fn ndtri(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r
                + 67265.770927008700853)
                * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((5226.495278852545925 * r + 28729.085735721942674) * r
                + 39307.89580009271061)
                * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = (-libm::log(r)).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
                + 0.0151986665636164571966)
                * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        let r = r - 5.0;
        (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
                + 1.8463183175100546818e-5)
                * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

/// A bootstrap distribution for order statistics: NaN values (a metric undefined on a
/// resample) are left out. Quantiles use selection, O(B) each, not a full sort.
#[derive(Clone, Debug)]
pub struct Dist {
    values: Vec<f64>,
}

impl Dist {
    pub fn new(mut values: Vec<f64>) -> Self {
        values.retain(|x| !x.is_nan());
        Dist { values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The `k`-th smallest value (0-based).
    fn order_stat(&mut self, k: usize) -> f64 {
        *self.values.select_nth_unstable_by(k, f64::total_cmp).1
    }

    /// Quantile `q` with linear interpolation (numpy's default, Hyndman-Fan 7).
    pub fn quantile(&mut self, q: f64) -> f64 {
        if self.values.is_empty() || q.is_nan() {
            return f64::NAN;
        }
        let h = (self.values.len() - 1) as f64 * q.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        let frac = h - lo as f64;
        let a = self.order_stat(lo);
        if frac == 0.0 {
            return a;
        }
        // after selecting `lo`, the next order statistic is the smallest value above it
        let b = self.values[lo + 1..]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        a + frac * (b - a)
    }

    pub fn count_below(&self, x: f64) -> usize {
        self.values.iter().filter(|&&v| v < x).count()
    }

    pub fn count_at_or_below(&self, x: f64) -> usize {
        self.values.iter().filter(|&&v| v <= x).count()
    }

    pub fn count_at_or_above(&self, x: f64) -> usize {
        self.values.iter().filter(|&&v| v >= x).count()
    }

    fn is_constant(&self) -> bool {
        self.values.windows(2).all(|w| w[0] == w[1])
    }
}

/// BCa acceleration from leave-one-unit-out values given as (value, number of units).
pub fn acceleration(jack: &[(f64, u64)]) -> f64 {
    let n: f64 = jack.iter().map(|&(_, w)| w as f64).sum();
    let mean = jack.iter().map(|&(v, w)| v * w as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for &(v, w) in jack {
        let d = mean - v;
        num += w as f64 * d * d * d;
        den += w as f64 * d * d;
    }
    if den > 0.0 {
        num / (6.0 * den * den.sqrt())
    } else {
        0.0
    }
}

/// The two quantile levels of the BCa interval (scipy's `_bca_interval`; the bias correction
/// counts ties with the estimate as half, like its `_percentile_of_score`).
pub fn bca_levels(dist: &Dist, estimate: f64, accel: f64, alpha: f64) -> (f64, f64) {
    let b = dist.len() as f64;
    let below = dist.count_below(estimate) as f64;
    let at_or_below = dist.count_at_or_below(estimate) as f64;
    // A proportion of 0 or 1 would give an infinite bias correction (scipy returns NaN there):
    // clamp to half a resample from the edge.
    let share = ((below + at_or_below) / (2.0 * b)).clamp(0.5 / b, 1.0 - 0.5 / b);
    let z0 = ndtri(share);
    let level = |z: f64| {
        let num = z0 + z;
        ndtr(z0 + num / (1.0 - accel * num))
    };
    (level(ndtri(alpha)), level(-ndtri(alpha)))
}

/// (low, high) of a bootstrap distribution at `confidence` (two-sided).
pub fn interval(
    dist: &mut Dist,
    estimate: f64,
    accel: f64,
    confidence: f64,
    method: CiMethod,
) -> (f64, f64) {
    if dist.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    if dist.is_constant() {
        let v = dist.values[0];
        return (v, v);
    }
    let alpha = (1.0 - confidence) / 2.0;
    let (ql, qh) = match method {
        CiMethod::Percentile => (alpha, 1.0 - alpha),
        CiMethod::Bca => bca_levels(dist, estimate, accel, alpha),
    };
    (dist.quantile(ql), dist.quantile(qh))
}

/// Two-sided bootstrap p-value of "no difference" from a distribution of differences:
/// `(1 + 2 * min(#{d <= 0}, #{d >= 0})) / (B + 1)`, capped at 1 (never exactly zero).
pub fn two_sided_p(dist: &Dist) -> f64 {
    if dist.is_empty() {
        return f64::NAN;
    }
    let le = dist.count_at_or_below(0.0) as f64;
    let ge = dist.count_at_or_above(0.0) as f64;
    ((1.0 + 2.0 * le.min(ge)) / (dist.len() as f64 + 1.0)).min(1.0)
}

/// Exact two-sided McNemar test on the discordant counts: `b` pairs where only the first is
/// correct, `c` where only the second is. `min(1, 2 P(X <= min(b, c)))`, X ~ Binomial(b + c, 1/2).
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let m = b.min(c);
    let nf = n as f64;
    let ln_half_n = nf * std::f64::consts::LN_2;
    let lg_n1 = libm::lgamma(nf + 1.0);
    let log_term = |k: u64| {
        lg_n1 - libm::lgamma(k as f64 + 1.0) - libm::lgamma((n - k) as f64 + 1.0) - ln_half_n
    };
    // log-sum-exp over k = 0..=m; the largest term is the last one (m <= n / 2).
    let top = log_term(m);
    let sum: f64 = (0..=m).map(|k| libm::exp(log_term(k) - top)).sum();
    (2.0 * libm::exp(top + libm::log(sum))).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions() {
        assert!((ndtri(0.975) - 1.959963984540054).abs() < 1e-14);
        assert!((ndtri(0.025) + 1.959963984540054).abs() < 1e-14);
        assert_eq!(ndtri(0.5), 0.0);
        assert!((ndtri(1e-10) + 6.361340902404056).abs() < 1e-12);
        assert!((ndtr(1.959963984540054) - 0.975).abs() < 1e-15);
        for p in [1e-8, 0.001, 0.2, 0.6, 0.93, 0.999999] {
            assert!((ndtr(ndtri(p)) - p).abs() < 1e-14 * p.max(1e-2));
        }
        assert!(ndtri(1.5).is_nan());
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let mut s = Dist::new(vec![4.0, 2.0, f64::NAN, 1.0, 3.0]);
        assert_eq!(s.len(), 4);
        assert_eq!(s.quantile(0.0), 1.0);
        assert_eq!(s.quantile(1.0), 4.0);
        assert!((s.quantile(0.025) - 1.075).abs() < 1e-15);
        assert!((s.quantile(0.5) - 2.5).abs() < 1e-15);
        // against a full sort on a larger sample
        let v: Vec<f64> = (0..1001).map(|i| ((i * 7919) % 1009) as f64).collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let mut d = Dist::new(v);
        for q in [0.025, 0.05, 0.5, 0.95, 0.975] {
            let h: f64 = 1000.0 * q;
            let (lo, f) = (h.floor() as usize, h - h.floor());
            let expect = sorted[lo] + f * (sorted[(lo + 1).min(1000)] - sorted[lo]);
            assert!((d.quantile(q) - expect).abs() < 1e-12);
        }
    }

    #[test]
    fn acceleration_of_a_symmetric_jackknife_is_zero() {
        assert_eq!(acceleration(&[(1.0, 2), (2.0, 1), (3.0, 2)]), 0.0);
        assert!(acceleration(&[(1.0, 5), (2.0, 1)]) < 0.0);
        assert_eq!(acceleration(&[(1.0, 5)]), 0.0);
    }

    #[test]
    fn bca_without_bias_or_acceleration_is_the_percentile_interval() {
        let mut s = Dist::new((0..1001).map(|i| i as f64).collect());
        let (l, h) = bca_levels(&s, 500.0, 0.0, 0.025);
        assert!((l - 0.025).abs() < 1e-3 && (h - 0.975).abs() < 1e-3);
        let (lo, hi) = interval(&mut s, 500.0, 0.0, 0.95, CiMethod::Percentile);
        assert!((lo - 25.0).abs() < 1e-9 && (hi - 975.0).abs() < 1e-9);
        let mut flat = Dist::new(vec![2.0, 2.0]);
        assert_eq!(
            interval(&mut flat, 2.0, 0.0, 0.95, CiMethod::Bca),
            (2.0, 2.0)
        );
    }

    #[test]
    fn p_value_counts_both_tails() {
        let all_pos = Dist::new((1..=99).map(f64::from).collect());
        assert!((two_sided_p(&all_pos) - 0.01).abs() < 1e-15);
        let centred = Dist::new((-49..=49).map(f64::from).collect());
        assert_eq!(two_sided_p(&centred), 1.0);
    }

    #[test]
    fn mcnemar_matches_binomial_sums() {
        // 2 * P(X <= 1), X ~ Bin(10, 0.5) = 2 * 11 / 1024
        assert!((mcnemar_exact(1, 9) - 22.0 / 1024.0).abs() < 1e-14);
        assert!((mcnemar_exact(9, 1) - 22.0 / 1024.0).abs() < 1e-14);
        assert_eq!(mcnemar_exact(5, 5), 1.0);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        // large counts stay finite and small: 2 * P(X <= 400), X ~ Bin(1000, 0.5)
        let p = mcnemar_exact(400, 600);
        assert!(p > 0.0 && p < 1e-9, "{p}");
    }
}
