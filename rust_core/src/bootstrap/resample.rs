//! Drawing bootstrap resamples of [`Units`], deterministically and in parallel.
//!
//! Two samplers give the same distribution of profile multiplicities:
//! - *counts*: Multinomial(G, weights / G) as a chain of binomials over the non-empty profiles
//!   (see [`super::multinomial`]); O(K) draws a resample.
//! - *index*: G unit indices drawn uniformly (as `u64`), tallied; O(G) draws a resample.
//!
//! Determinism: resamples are cut into fixed chunks of [`CHUNK`]; chunk `i` draws from
//! `ChaCha8Rng::seed_from_u64(seed)` on stream `i`, whatever thread runs it, and results are
//! written in place, so the output is bit-identical on any thread count and any machine.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::multinomial::{Multinomial, Tables};
use super::units::Units;

/// Resamples drawn from one random stream.
pub const CHUNK: usize = 256;

/// The count sampler is used while `K * COUNT_COST <= G`: one link of the binomial chain costs
/// about as much as this many index draws (measured on weighted F1 with K = 36: the two samplers
/// break even near G / K = 15).
pub const COUNT_COST: u64 = 16;

/// A statistic of the feature totals of a resample.
pub trait Statistic: Sync {
    fn eval(&self, totals: &[u64]) -> f64;
}

impl<F: Fn(&[u64]) -> f64 + Sync> Statistic for F {
    fn eval(&self, totals: &[u64]) -> f64 {
        self(totals)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampler {
    /// Counts while the number of distinct profiles is small next to the number of units.
    Auto,
    Counts,
    Index,
}

impl Sampler {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Some(Sampler::Auto),
            "counts" | "count" | "multinomial" => Some(Sampler::Counts),
            "index" | "indices" | "samples" => Some(Sampler::Index),
            _ => None,
        }
    }

    /// The concrete sampler for these units.
    pub fn resolve(self, units: &Units) -> Sampler {
        match self {
            Sampler::Auto => {
                if (units.n_profiles() as u64).saturating_mul(COUNT_COST) <= units.n_units() {
                    Sampler::Counts
                } else {
                    Sampler::Index
                }
            }
            s => s,
        }
    }
}

/// The random stream of chunk `chunk` under `seed`.
pub fn chunk_rng(seed: u64, chunk: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(chunk);
    rng
}

/// Unit index -> profile, for the index sampler.
fn unit_profiles(units: &Units) -> Vec<u32> {
    let mut out = Vec::with_capacity(units.n_units() as usize);
    for (k, &w) in units.weights().iter().enumerate() {
        out.extend(std::iter::repeat_n(k as u32, w as usize));
    }
    out
}

/// The statistic on `n_resamples` bootstrap resamples, in resample order. Runs on the current
/// rayon pool; the result does not depend on its size.
pub fn distribution<S: Statistic>(
    units: &Units,
    stat: &S,
    n_resamples: usize,
    seed: u64,
    sampler: Sampler,
) -> Vec<f64> {
    let sampler = sampler.resolve(units);
    enum Draw {
        Index(Vec<u32>),
        Counts(Multinomial, Tables),
    }
    let draw = if sampler == Sampler::Index {
        Draw::Index(unit_profiles(units))
    } else {
        let m = Multinomial::new(units.weights());
        let t = m.tables();
        Draw::Counts(m, t)
    };
    let n_units = units.n_units();
    let mut out = vec![0.0f64; n_resamples];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk, slots)| {
            let mut rng = chunk_rng(seed, chunk as u64);
            let mut mult = vec![0u64; units.n_profiles()];
            let mut totals = vec![0u64; units.n_features()];
            for slot in slots {
                match &draw {
                    Draw::Index(lookup) => index_draw(lookup, n_units, &mut rng, &mut mult),
                    Draw::Counts(m, tables) => m.sample(tables, &mut rng, &mut mult),
                }
                units.totals_into(&mult, &mut totals);
                *slot = stat.eval(&totals);
            }
        });
    out
}

/// A uniform integer in `0..n` (n > 0) from one 32-bit word, by Lemire's multiply-and-reject
/// (exact: the few biased words are rejected); half the random stream of a 64-bit draw.
pub fn below_u32<R: rand::Rng + ?Sized>(rng: &mut R, n: u32) -> u32 {
    let mut m = u64::from(rng.next_u32()) * u64::from(n);
    if (m as u32) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u32) < threshold {
            m = u64::from(rng.next_u32()) * u64::from(n);
        }
    }
    (m >> 32) as u32
}

/// G unit indices drawn uniformly, tallied by profile.
fn index_draw<R: rand::Rng + ?Sized>(lookup: &[u32], n_units: u64, rng: &mut R, mult: &mut [u64]) {
    mult.fill(0);
    match u32::try_from(n_units) {
        Ok(n32) => {
            for _ in 0..n32 {
                let u = below_u32(rng, n32);
                mult[lookup[u as usize] as usize] += 1;
            }
        }
        Err(_) => {
            for _ in 0..n_units {
                let u = rng.random_range(0..n_units);
                mult[lookup[u as usize] as usize] += 1;
            }
        }
    }
}

/// Leave-one-unit-out values of the statistic: one per distinct profile, with its weight (the
/// jackknife in O(K) evaluations, exact).
pub fn jackknife<S: Statistic>(units: &Units, stat: &S) -> Vec<(f64, u64)> {
    let full = units.observed_totals();
    let mut totals = full.clone();
    (0..units.n_profiles())
        .map(|k| {
            totals.copy_from_slice(&full);
            for &(f, c) in units.profile(k) {
                totals[f as usize] -= c;
            }
            (stat.eval(&totals), units.weights()[k])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::multinomial::{CellOdds, ChainStep};
    use rand::Rng;

    fn first_feature_share(t: &[u64]) -> f64 {
        t[0] as f64 / t.iter().sum::<u64>() as f64
    }

    #[test]
    fn golden_values_of_the_random_stream() {
        // Pins rand_chacha's stream and seeding: a change here changes every published interval.
        let mut rng = chunk_rng(42, 0);
        assert_eq!(rng.next_u64(), 0xae90_bfb5_395d_5ba1);
        let mut rng = chunk_rng(42, 3);
        assert_eq!(rng.next_u64(), 0x5c97_cf06_8ade_5889);
        let mut rng = chunk_rng(0, 0);
        let mut mult = [0u64; 4];
        let m = Multinomial::new(&[5, 30, 15, 50]);
        m.sample(&m.tables(), &mut rng, &mut mult);
        assert_eq!(mult, [4, 28, 15, 53]);
        // A whole bootstrap distribution (table inversion, then the chain's mode inversion).
        let u = Units::from_samples(&[0, 1, 1, 2, 2, 2, 2, 2], 1, 3);
        let d = distribution(&u, &first_feature_share, 3, 5, Sampler::Counts);
        assert_eq!(d, vec![0.125, 0.0, 0.125]);
        // the mode search of long chains
        let step = ChainStep::new(1000);
        let mut r9 = chunk_rng(9, 0);
        let xs: Vec<u64> = (0..4)
            .map(|_| step.sample(900, &CellOdds::new(7, 20), &mut r9))
            .collect();
        assert_eq!(xs, vec![317, 297, 321, 318]);
        let d = distribution(&u, &first_feature_share, 8, 5, Sampler::Index);
        assert_eq!(d, vec![0.0, 0.125, 0.0, 0.125, 0.125, 0.25, 0.375, 0.0]);
        assert_eq!(below_u32(&mut chunk_rng(1, 2), 1_000_003), 567_177);
        let mut rng = chunk_rng(7, 1);
        assert_eq!(rng.random_range(0..1000u64), 992);
    }

    #[test]
    fn both_samplers_give_the_same_distribution() {
        let units = Units::from_samples(&[0, 0, 0, 1, 1, 2, 2, 2, 2, 3], 1, 4);
        let b = 40_000;
        let moments = |s: Sampler| {
            let d = distribution(&units, &first_feature_share, b, 11, s);
            let m = d.iter().sum::<f64>() / b as f64;
            let v = d.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / b as f64;
            (m, v)
        };
        let (mc, vc) = moments(Sampler::Counts);
        let (mi, vi) = moments(Sampler::Index);
        // share of feature 0: mean 0.3, variance 0.3 * 0.7 / 10 = 0.021
        for (m, v) in [(mc, vc), (mi, vi)] {
            assert!((m - 0.3).abs() < 0.003, "{m}");
            assert!((v - 0.021).abs() < 0.001, "{v}");
        }
    }

    #[test]
    fn same_seed_same_bits_on_one_and_two_threads() {
        let f: Vec<u32> = (0..3000u32).map(|i| (i * 7 + i / 13) % 9).collect();
        let units = Units::from_samples(&f, 1, 9);
        let run = |threads: usize, s: Sampler| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| distribution(&units, &first_feature_share, 3 * CHUNK + 17, 99, s))
        };
        for s in [Sampler::Counts, Sampler::Index] {
            let one = run(1, s);
            let two = run(2, s);
            assert!(one
                .iter()
                .zip(&two)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            assert_ne!(
                run(1, s),
                distribution(&units, &first_feature_share, 3 * CHUNK + 17, 100, s)
            );
        }
    }

    #[test]
    fn below_u32_is_uniform() {
        let mut rng = chunk_rng(4, 0);
        let mut seen = [0u32; 7];
        for _ in 0..70_000 {
            seen[below_u32(&mut rng, 7) as usize] += 1;
        }
        assert!(
            seen.iter().all(|&c| (c as f64 - 10_000.0).abs() < 450.0),
            "{seen:?}"
        );
        assert_eq!(below_u32(&mut rng, 1), 0);
        // a bound just above 2^31 rejects almost half the words and stays in range
        assert!((0..1000).all(|_| below_u32(&mut rng, (1 << 31) + 1) <= 1 << 31));
    }

    #[test]
    fn auto_picks_counts_for_few_profiles() {
        let many: Vec<u32> = (0..100).collect();
        assert_eq!(
            Sampler::Auto.resolve(&Units::from_samples(&many, 1, 100)),
            Sampler::Index
        );
        let few = [0u32, 1].repeat(50);
        assert_eq!(
            Sampler::Auto.resolve(&Units::from_samples(&few, 1, 2)),
            Sampler::Counts
        );
    }

    #[test]
    fn jackknife_leaves_each_profile_out_once() {
        let units = Units::from_samples(&[0, 0, 1], 1, 2);
        let j = jackknife(&units, &first_feature_share);
        assert_eq!(j, vec![(0.5, 2), (1.0, 1)]);
    }
}
