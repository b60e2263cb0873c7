//! Multinomial draws as a chain of binomials, fast where the bootstrap spends its time.
//!
//! Cells are visited by descending weight. The first binomial of the chain always has the same
//! parameters (all G units, the largest cell's share), so it is drawn by inversion from a table of
//! its distribution built once. The later links have a fixed probability but a trial count that
//! varies from resample to resample: while the tables of every (link, count) met fit a small
//! budget they are built on first use and shared by all workers in [`Tables`] (a draw is then a
//! lookup); otherwise each draw searches outward from the mode ([`ChainStep`]). Which of the two
//! is used depends on the weights only, and a table depends on its (count, probability) only, so
//! the draws never depend on the cache or the thread. The remaining count and remaining weight are
//! kept as integers, so every probability is an exact ratio. With two cells (accuracy) a resample
//! is one table lookup.
//!
//! Portability: only IEEE basic arithmetic and the pure-Rust `libm` (never the platform's `exp`,
//! `log` or `pow`, whose last bits differ between C libraries and CPUs), so a seed gives the same
//! draws on every machine.

use std::sync::OnceLock;

use rand::{Rng, RngExt};

/// Binomial(n, p) by inversion: the cumulative distribution over the support whose probability
/// is not negligible next to a 53-bit uniform (tails below 1e-30 of the mode are left out), with
/// a guide table (Chen and Asau) so a draw is one uniform and, on average, one or two compares.
#[derive(Clone, Debug)]
pub struct BinomialTable {
    start: u64,
    cdf: Vec<f64>,
    /// `guide[j]`: the first index whose cumulative probability exceeds `j / guide.len()`.
    guide: Vec<u32>,
}

impl BinomialTable {
    pub fn new(n: u64, p: f64) -> Self {
        if p <= 0.0 || n == 0 {
            return BinomialTable::point(0);
        }
        if p >= 1.0 {
            return BinomialTable::point(n);
        }
        let nf = n as f64;
        let mode = (((nf + 1.0) * p).floor() as u64).min(n);
        let ratio = p / (1.0 - p);
        // pmf relative to the mode, outward by the recurrence pmf(k+1)/pmf(k) = (n-k)/(k+1) * p/q
        let mut up = Vec::new();
        let mut v = 1.0f64;
        let mut k = mode;
        while k < n {
            v *= (n - k) as f64 / (k + 1) as f64 * ratio;
            if v < 1e-30 {
                break;
            }
            up.push(v);
            k += 1;
        }
        let mut down = Vec::new();
        let mut v = 1.0f64;
        let mut k = mode;
        while k > 0 {
            v *= k as f64 / (n - k + 1) as f64 / ratio;
            if v < 1e-30 {
                break;
            }
            down.push(v);
            k -= 1;
        }
        let start = mode - down.len() as u64;
        let mut pmf: Vec<f64> = down.into_iter().rev().collect();
        pmf.push(1.0);
        pmf.extend(up);
        let total: f64 = pmf.iter().sum();
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = pmf
            .iter()
            .map(|x| {
                acc += x;
                acc / total
            })
            .collect();
        if let Some(last) = cdf.last_mut() {
            *last = 1.0;
        }
        let m = cdf.len();
        let mut guide = Vec::with_capacity(m);
        let mut i = 0usize;
        for j in 0..m {
            let level = j as f64 / m as f64;
            while cdf[i] <= level {
                i += 1;
            }
            guide.push(i as u32);
        }
        BinomialTable { start, cdf, guide }
    }

    fn point(value: u64) -> Self {
        BinomialTable {
            start: value,
            cdf: vec![1.0],
            guide: vec![0],
        }
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let u: f64 = rng.random();
        // u < 1, so the guide slot lies in range and the search stops at the last entry (1.0)
        let slot = ((u * self.guide.len() as f64) as usize).min(self.guide.len() - 1);
        let mut i = self.guide[slot] as usize;
        while self.cdf[i] <= u {
            i += 1;
        }
        self.start + i as u64
    }
}

/// Largest trial count whose log-factorials and reciprocals are tabulated (16 bytes each).
const TABLE_MAX: u64 = 1 << 22;

/// Binomial(n, p) draws for varying n and fixed p, by inversion from the mode: the probability
/// at the mode from log-factorials, then the others by the ratio recurrence, alternately below
/// and above, until the uniform is used up. Expected work O(standard deviation).
#[derive(Clone, Debug)]
pub struct ChainStep {
    /// ln k! for k = 0..=max (empty past [`TABLE_MAX`]: computed on demand)
    ln_fact: Vec<f64>,
    /// 1 / k for k = 0..=max (entry 0 unused)
    inv: Vec<f64>,
}

impl ChainStep {
    pub fn new(max_n: u64) -> Self {
        if max_n > TABLE_MAX {
            return ChainStep {
                ln_fact: Vec::new(),
                inv: Vec::new(),
            };
        }
        let len = max_n as usize + 1;
        let ln_fact = (0..len).map(|k| libm::lgamma(k as f64 + 1.0)).collect();
        let inv = (0..len)
            .map(|k| if k == 0 { 0.0 } else { 1.0 / k as f64 })
            .collect();
        ChainStep { ln_fact, inv }
    }

    fn ln_fact(&self, k: u64) -> f64 {
        match self.ln_fact.get(k as usize) {
            Some(&v) => v,
            None => libm::lgamma(k as f64 + 1.0),
        }
    }

    fn inv(&self, k: u64) -> f64 {
        match self.inv.get(k as usize) {
            Some(&v) => v,
            None => 1.0 / k as f64,
        }
    }

    /// Binomial(n, p) for the cell `c`.
    pub fn sample<R: Rng + ?Sized>(&self, n: u64, c: &CellOdds, rng: &mut R) -> u64 {
        if n == 0 {
            return 0;
        }
        let (ratio, inv_ratio) = (c.ratio, c.inv_ratio);
        let mode = (((n + 1) as f64 * c.p) as u64).min(n);
        let log_pm = self.ln_fact(n) - self.ln_fact(mode) - self.ln_fact(n - mode)
            + mode as f64 * c.ln_p
            + (n - mode) as f64 * c.ln_q;
        let pm = libm::exp(log_pm);
        loop {
            let mut u: f64 = rng.random();
            u -= pm;
            if u < 0.0 {
                return mode;
            }
            let (mut lo, mut p_lo) = (mode, pm);
            let (mut hi, mut p_hi) = (mode, pm);
            while lo > 0 || hi < n {
                if lo > 0 {
                    // pmf(k - 1) = pmf(k) * k / (n - k + 1) * q / p
                    p_lo *= lo as f64 * self.inv(n - lo + 1) * inv_ratio;
                    lo -= 1;
                    u -= p_lo;
                    if u < 0.0 {
                        return lo;
                    }
                }
                if hi < n {
                    // pmf(k + 1) = pmf(k) * (n - k) / (k + 1) * p / q
                    p_hi *= (n - hi) as f64 * self.inv(hi + 1) * ratio;
                    hi += 1;
                    u -= p_hi;
                    if u < 0.0 {
                        return hi;
                    }
                }
                if p_lo < 1e-300 && p_hi < 1e-300 {
                    break;
                }
            }
            // Rounding left a sliver of probability unassigned (about 1e-15): draw again.
        }
    }
}

/// The success probability of one link of the chain, w / mass for integers 0 < w < mass, with
/// what the sampler needs of it computed once.
#[derive(Clone, Copy, Debug)]
pub struct CellOdds {
    p: f64,
    ln_p: f64,
    ln_q: f64,
    /// p / q and q / p
    ratio: f64,
    inv_ratio: f64,
}

impl CellOdds {
    pub fn new(w: u64, mass: u64) -> Self {
        assert!(0 < w && w < mass);
        let p = w as f64 / mass as f64;
        let q = (mass - w) as f64 / mass as f64;
        CellOdds {
            p,
            ln_p: libm::log(p),
            ln_q: libm::log(q),
            ratio: w as f64 / (mass - w) as f64,
            inv_ratio: (mass - w) as f64 / w as f64,
        }
    }
}

/// Slots (one per link and trial count) [`Tables`] may hold: 16 bytes each.
const SLOT_BUDGET: u64 = 1 << 18;
/// Table entries (12 bytes each) [`Tables`] are expected to reach.
const ENTRY_BUDGET: f64 = (1 << 19) as f64;

/// The tables of the chain's links by trial count, built on first use by whichever worker meets
/// them first (a table is a function of its parameters only, so which one does not matter).
#[derive(Debug, Default)]
pub struct Tables {
    slots: Vec<Vec<OnceLock<Box<BinomialTable>>>>,
}

/// Multinomial(sum of weights, weights / sum).
#[derive(Clone, Debug)]
pub struct Multinomial {
    /// Cells with positive weight, by descending weight (ties by index).
    order: Vec<usize>,
    total: u64,
    first: BinomialTable,
    /// mode search for the links, where their tables would not fit the budget
    chain: Option<ChainStep>,
    /// odds of each link after the first, in `order` (the last cell takes the rest)
    odds: Vec<CellOdds>,
}

impl Multinomial {
    pub fn new(weights: &[u64]) -> Self {
        let mut order: Vec<usize> = (0..weights.len()).filter(|&k| weights[k] > 0).collect();
        order.sort_by(|&a, &b| weights[b].cmp(&weights[a]).then(a.cmp(&b)));
        let total: u64 = weights.iter().sum();
        let first = match order.first() {
            Some(&k) if order.len() > 1 => {
                BinomialTable::new(total, weights[k] as f64 / total as f64)
            }
            _ => BinomialTable::new(total, 1.0),
        };
        let mut odds = Vec::new();
        // expected table entries: per link, ~24 standard deviations of support for each of the
        // ~8 standard deviations of trial counts met
        let mut entries = 0.0;
        if order.len() > 2 {
            let mut mass = total - weights[order[0]];
            let counts_met = 4.0 * (total as f64).sqrt() + 1.0;
            for &k in &order[1..order.len() - 1] {
                let o = CellOdds::new(weights[k], mass);
                entries += (24.0 * (mass as f64 * o.p * (1.0 - o.p)).sqrt() + 2.0) * counts_met;
                odds.push(o);
                mass -= weights[k];
            }
        }
        let slots = (odds.len() as u64).saturating_mul(total + 1);
        let tabled = slots <= SLOT_BUDGET && entries <= ENTRY_BUDGET;
        let chain = (!odds.is_empty() && !tabled).then(|| ChainStep::new(total));
        Multinomial {
            order,
            total,
            first,
            chain,
            odds,
        }
    }

    /// The (empty) link tables for [`Multinomial::sample`], to share between workers.
    pub fn tables(&self) -> Tables {
        let n = if self.chain.is_none() {
            self.odds.len()
        } else {
            0
        };
        Tables {
            slots: (0..n)
                .map(|_| (0..=self.total).map(|_| OnceLock::new()).collect())
                .collect(),
        }
    }

    /// One draw into `mult` (as long as the weights; cells of weight 0 get 0).
    pub fn sample<R: Rng + ?Sized>(&self, tables: &Tables, rng: &mut R, mult: &mut [u64]) {
        mult.fill(0);
        let Some((&head, rest)) = self.order.split_first() else {
            return;
        };
        let x = self.first.sample(rng);
        mult[head] = x;
        let mut left = self.total - x;
        let Some((&last, middle)) = rest.split_last() else {
            return;
        };
        for (i, (&k, odds)) in middle.iter().zip(&self.odds).enumerate() {
            if left == 0 {
                return;
            }
            let x = match &self.chain {
                Some(chain) => chain.sample(left, odds, rng),
                None => tables.slots[i][left as usize]
                    .get_or_init(|| Box::new(BinomialTable::new(left, odds.p)))
                    .sample(rng),
            };
            mult[k] = x;
            left -= x;
        }
        mult[last] = left;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::resample::chunk_rng;

    #[test]
    fn table_matches_binomial_probabilities() {
        let t = BinomialTable::new(10, 0.3);
        // P(X <= 3) for Binomial(10, 0.3) = 0.6496107184
        let k3 = (3 - t.start) as usize;
        assert!((t.cdf[k3] - 0.6496107184).abs() < 1e-9);
        assert_eq!(*t.cdf.last().unwrap(), 1.0);
        // the guide finds what a binary search finds
        let mut rng = chunk_rng(3, 0);
        for _ in 0..2000 {
            let u: f64 = rng.random();
            let slot = ((u * t.guide.len() as f64) as usize).min(t.guide.len() - 1);
            let mut i = t.guide[slot] as usize;
            while t.cdf[i] <= u {
                i += 1;
            }
            assert_eq!(i, t.cdf.partition_point(|&c| c <= u));
        }
        let big = BinomialTable::new(40_000, 0.43);
        assert!(big.cdf.len() < 3000);
        assert_eq!(BinomialTable::new(5, 0.0).sample(&mut chunk_rng(0, 0)), 0);
        assert_eq!(BinomialTable::new(5, 1.0).sample(&mut chunk_rng(0, 0)), 5);
    }

    #[test]
    fn chain_step_matches_binomial_moments_and_tails() {
        let step = ChainStep::new(5000);
        let far = ChainStep::new(TABLE_MAX + 1); // no tables: computed on demand
        let mut rng = chunk_rng(8, 0);
        for (n, w, mass) in [
            (400u64, 3u64, 10u64),
            (4000, 1, 50),
            (37, 49, 50),
            (1, 1, 2),
        ] {
            let p = w as f64 / mass as f64;
            let reps = 30_000;
            let (mut s, mut s2) = (0.0, 0.0);
            for _ in 0..reps {
                let x = step.sample(n, &CellOdds::new(w, mass), &mut rng);
                assert!(x <= n);
                s += x as f64;
                s2 += (x * x) as f64;
            }
            let mean = s / reps as f64;
            let var = s2 / reps as f64 - mean * mean;
            let (em, ev) = (n as f64 * p, n as f64 * p * (1.0 - p));
            assert!(
                (mean - em).abs() < 5.0 * (ev / reps as f64).sqrt(),
                "{n} {p} {mean}"
            );
            assert!((var / ev - 1.0).abs() < 0.05, "{n} {p} {var}");
        }
        // the same draws with or without the tables
        let mut a = chunk_rng(9, 0);
        let mut b = chunk_rng(9, 0);
        for _ in 0..100 {
            let x = step.sample(900, &CellOdds::new(7, 20), &mut a);
            let y = far.sample(900, &CellOdds::new(7, 20), &mut b);
            assert_eq!(x, y);
        }
        // P(X = 0) of Binomial(3, 1/2) is 1/8
        let zeros = (0..80_000)
            .filter(|_| step.sample(3, &CellOdds::new(1, 2), &mut rng) == 0)
            .count();
        assert!((zeros as f64 / 80_000.0 - 0.125).abs() < 0.006, "{zeros}");
    }

    #[test]
    fn tables_and_mode_search_are_both_in_use() {
        assert!(Multinomial::new(&[300, 200, 100, 55]).chain.is_none());
        // many links over many units: too many tables, so the mode search
        let big: Vec<u64> = (1..=60).map(|k| 500 + k).collect();
        let m = Multinomial::new(&big);
        assert!(m.chain.is_some());
        let tables = m.tables();
        let mut rng = chunk_rng(2, 0);
        let mut mult = vec![0u64; big.len()];
        let total: u64 = big.iter().sum();
        let mut first = 0.0;
        for _ in 0..2000 {
            m.sample(&tables, &mut rng, &mut mult);
            assert_eq!(mult.iter().sum::<u64>(), total);
            first += mult[0] as f64;
        }
        let expect = 2000.0 * 501.0;
        assert!(
            (first - expect).abs() < 5.0 * (2000.0 * 501.0f64).sqrt(),
            "{first}"
        );
    }

    #[test]
    fn keeps_the_total_and_skips_empty_cells() {
        let m = Multinomial::new(&[0, 7, 0, 3, 0]);
        let tables = m.tables();
        let mut rng = chunk_rng(1, 0);
        let mut mult = [9u64; 5];
        for _ in 0..200 {
            m.sample(&tables, &mut rng, &mut mult);
            assert_eq!(mult.iter().sum::<u64>(), 10);
            assert_eq!((mult[0], mult[2], mult[4]), (0, 0, 0));
        }
        let one = Multinomial::new(&[0, 0, 9]);
        one.sample(&one.tables(), &mut rng, &mut mult[..3]);
        assert_eq!(&mult[..3], &[0, 0, 9]);
    }

    #[test]
    fn moments() {
        let m = Multinomial::new(&[100, 600, 300]);
        let tables = m.tables();
        let mut rng = chunk_rng(5, 0);
        let mut mult = [0u64; 3];
        let reps = 40_000;
        let mut sums = [0.0f64; 3];
        let mut sq = [0.0f64; 3];
        let mut cross = 0.0;
        for _ in 0..reps {
            m.sample(&tables, &mut rng, &mut mult);
            for k in 0..3 {
                sums[k] += mult[k] as f64;
                sq[k] += (mult[k] * mult[k]) as f64;
            }
            cross += (mult[0] * mult[2]) as f64;
        }
        let r = reps as f64;
        for (k, p) in [0.1, 0.6, 0.3].into_iter().enumerate() {
            let mean = sums[k] / r;
            let var = sq[k] / r - mean * mean;
            let (em, ev) = (1000.0 * p, 1000.0 * p * (1.0 - p));
            assert!(
                (mean - em).abs() < 4.0 * (ev / r).sqrt() + 1e-9,
                "{k} {mean}"
            );
            assert!((var / ev - 1.0).abs() < 0.04, "{k} {var}");
        }
        // Cov(X0, X2) = -n p0 p2 = -30
        let cov = cross / r - sums[0] / r * sums[2] / r;
        assert!((cov + 30.0).abs() < 2.0, "{cov}");
    }
}
