//! Resampling units and their distinct profiles.
//!
//! A bootstrap resamples *units* (samples, or groups of samples for the cluster bootstrap) with
//! replacement. Every statistic here is a function of *feature totals*: the sum over the resampled
//! units of each unit's sparse vector of feature counts (a confusion cell, or a pair of cells for a
//! paired comparison). Units with the same vector are interchangeable, so the data reduce to the
//! distinct vectors (*profiles*) and how many units share each one (*weights*). Resampling `G`
//! units then gives profile multiplicities ~ Multinomial(G, weights / G).
//!
//! Profiles are kept in lexicographic order of their entries, so the layout (and with it the
//! random stream's meaning) depends on the data only, never on input order or hashing.

use std::collections::BTreeMap;

/// Distinct unit profiles with their weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Units {
    n_features: usize,
    /// `entries[offsets[k]..offsets[k + 1]]` is profile `k`: (feature, count), features ascending.
    offsets: Vec<usize>,
    entries: Vec<(u32, u64)>,
    /// How many units share each profile; all positive.
    weights: Vec<u64>,
    n_units: u64,
}

impl Units {
    /// Units of one observation each: unit `i` adds one to every feature of
    /// `features[i * per_unit..(i + 1) * per_unit]` (the features of one unit must differ).
    pub fn from_samples(features: &[u32], per_unit: usize, n_features: usize) -> Self {
        assert!(per_unit > 0 && features.len().is_multiple_of(per_unit));
        let mut keys: Vec<&[u32]> = features.chunks_exact(per_unit).collect();
        keys.sort_unstable();
        let mut b = Builder::new(n_features);
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j] == keys[i] {
                j += 1;
            }
            let mut profile: Vec<(u32, u64)> = keys[i].iter().map(|&f| (f, 1)).collect();
            profile.sort_unstable();
            b.push(profile, (j - i) as u64);
            i = j;
        }
        b.finish()
    }

    /// Units of one observation each, given as the number of observations of each feature:
    /// the same units as [`Units::from_samples`] with `per_unit = 1` over any sequence holding
    /// feature `f` `weights[f]` times (the order of samples never matters).
    pub fn from_feature_weights(weights: &[u64]) -> Self {
        let mut b = Builder::new(weights.len());
        for (f, &w) in weights.iter().enumerate() {
            if w > 0 {
                b.push(vec![(f as u32, 1)], w);
            }
        }
        b.finish()
    }

    /// Cluster units: every sample with the same group id is one unit, whose profile is the sum of
    /// its samples' features. `groups.len()` must be `features.len() / per_unit`.
    pub fn from_groups(
        features: &[u32],
        per_unit: usize,
        groups: &[i64],
        n_features: usize,
    ) -> Self {
        assert!(per_unit > 0 && features.len() == groups.len() * per_unit);
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_unstable_by_key(|&i| groups[i]);
        let mut profiles: BTreeMap<Vec<(u32, u64)>, u64> = BTreeMap::new();
        let mut i = 0;
        while i < order.len() {
            let g = groups[order[i]];
            let mut feats: Vec<u32> = Vec::new();
            while i < order.len() && groups[order[i]] == g {
                let s = order[i];
                feats.extend_from_slice(&features[s * per_unit..(s + 1) * per_unit]);
                i += 1;
            }
            feats.sort_unstable();
            let mut profile: Vec<(u32, u64)> = Vec::new();
            for f in feats {
                match profile.last_mut() {
                    Some((last, c)) if *last == f => *c += 1,
                    _ => profile.push((f, 1)),
                }
            }
            *profiles.entry(profile).or_insert(0) += 1;
        }
        let mut b = Builder::new(n_features);
        for (profile, w) in profiles {
            b.push(profile, w);
        }
        b.finish()
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of distinct profiles (K).
    pub fn n_profiles(&self) -> usize {
        self.weights.len()
    }

    /// Number of units (G): the size of every resample.
    pub fn n_units(&self) -> u64 {
        self.n_units
    }

    pub fn weights(&self) -> &[u64] {
        &self.weights
    }

    pub fn profile(&self, k: usize) -> &[(u32, u64)] {
        &self.entries[self.offsets[k]..self.offsets[k + 1]]
    }

    /// Feature totals of the data as observed (every multiplicity equal to the weight).
    pub fn observed_totals(&self) -> Vec<u64> {
        let mut totals = vec![0u64; self.n_features];
        self.totals_into(&self.weights, &mut totals);
        totals
    }

    /// Feature totals of a resample given the multiplicity of each profile.
    pub fn totals_into(&self, mult: &[u64], totals: &mut [u64]) {
        totals.fill(0);
        for (k, &m) in mult.iter().enumerate() {
            if m == 0 {
                continue;
            }
            for &(f, c) in self.profile(k) {
                totals[f as usize] += m * c;
            }
        }
    }
}

struct Builder {
    units: Units,
}

impl Builder {
    fn new(n_features: usize) -> Self {
        Builder {
            units: Units {
                n_features,
                offsets: vec![0],
                entries: Vec::new(),
                weights: Vec::new(),
                n_units: 0,
            },
        }
    }

    fn push(&mut self, profile: Vec<(u32, u64)>, weight: u64) {
        debug_assert!(profile
            .iter()
            .all(|&(f, _)| (f as usize) < self.units.n_features));
        self.units.entries.extend(profile);
        self.units.offsets.push(self.units.entries.len());
        self.units.weights.push(weight);
        self.units.n_units += weight;
    }

    fn finish(self) -> Units {
        self.units
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_collapse_to_distinct_profiles() {
        let u = Units::from_samples(&[2, 0, 2, 1, 2], 1, 3);
        assert_eq!(u.n_profiles(), 3);
        assert_eq!(u.weights(), &[1, 1, 3]);
        assert_eq!(u.n_units(), 5);
        assert_eq!(u.profile(2), &[(2, 1)]);
        assert_eq!(u.observed_totals(), vec![1, 1, 3]);
    }

    #[test]
    fn feature_weights_equal_the_samples_they_count() {
        let f = [4u32, 1, 1, 0, 4, 4];
        assert_eq!(
            Units::from_feature_weights(&[1, 2, 0, 0, 3]),
            Units::from_samples(&f, 1, 5)
        );
    }

    #[test]
    fn paired_samples_keep_both_features() {
        // (a feature, b feature) pairs, b features offset by 2
        let u = Units::from_samples(&[0, 3, 1, 2, 0, 3], 2, 4);
        assert_eq!(u.n_profiles(), 2);
        assert_eq!(u.profile(0), &[(0, 1), (3, 1)]);
        assert_eq!(u.weights(), &[2, 1]);
        assert_eq!(u.observed_totals(), vec![2, 1, 1, 2]);
    }

    #[test]
    fn singleton_groups_equal_samples_whatever_the_order() {
        let f = [4u32, 1, 1, 0, 4, 4];
        let plain = Units::from_samples(&f, 1, 5);
        let grouped = Units::from_groups(&f, 1, &[9, 3, 7, 1, 2, 5], 5);
        assert_eq!(plain, grouped);
    }

    #[test]
    fn groups_sum_their_samples() {
        // group 1: features 0, 0, 1; group 2: 1; group 3: 0, 0, 1 (same profile as group 1)
        let u = Units::from_groups(&[0, 0, 1, 1, 0, 1, 0], 1, &[1, 1, 1, 2, 3, 3, 3], 2);
        assert_eq!(u.n_units(), 3);
        assert_eq!(u.n_profiles(), 2);
        assert_eq!(u.profile(0), &[(0, 2), (1, 1)]);
        assert_eq!(u.weights(), &[2, 1]);
        let mut t = vec![0; 2];
        u.totals_into(&[0, 3], &mut t);
        assert_eq!(t, vec![0, 3]);
    }
}
