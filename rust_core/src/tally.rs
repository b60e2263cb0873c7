//! One pass over the rows of a predictions table: each run's rows counted by their distinct
//! (ground truth, status, prediction, first label), and each run's sample ids noted to find the
//! runs that hold a sample twice (`seen`). Memory grows with the runs, the distinct values and
//! the distinct sample ids (past a bound, eight bytes a row); the rows themselves are never
//! kept.
//!
//! Values are strings, read through [`Column`] so that the caller decides where they live (the
//! bindings read Arrow arrays). Each distinct value gets a code in order of first appearance,
//! code 0 standing for a missing value; the counts are keyed by codes, and [`Tally::finish`]
//! gives the codes back with the values they stand for.

use std::collections::HashMap;
use std::hash::Hasher;

use foldhash::fast::FixedState;
use rayon::prelude::*;

mod merge;
mod seen;
mod shard;

use shard::Shard;

/// A value as a 16-byte key: a string of at most 12 bytes in the layout of an Arrow string view
/// (its length in the low 4 bytes, then the bytes, zero-padded), so that a view is its own key;
/// a longer string by its code among the long strings (length field `LONG`); missing: `MISSING`.
pub type Key = u128;
pub(crate) const LONG: u32 = u32::MAX;
pub(crate) const MISSING: Key = (u32::MAX - 1) as Key;
/// The widest string kept inline in a key.
pub const INLINE: usize = 12;

/// A value of a column, as the tally reads it.
pub enum Slot<'a> {
    Missing,
    /// A string of at most `INLINE` bytes, packed as a [`Key`].
    Inline(Key),
    Long(&'a [u8]),
}

/// Packs a string of at most `INLINE` bytes as a key.
#[inline]
pub fn pack(b: &[u8]) -> Key {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&(b.len() as u32).to_le_bytes());
    k[4..4 + b.len()].copy_from_slice(b);
    u128::from_le_bytes(k)
}

/// A present string as the tally reads it.
#[inline]
pub fn slot_of(b: &[u8]) -> Slot<'_> {
    if b.len() <= INLINE {
        Slot::Inline(pack(b))
    } else {
        Slot::Long(b)
    }
}

/// The zero-padded view of an inline Arrow view: the bytes past its length cleared.
#[inline]
pub fn inline_view(view: u128) -> Option<Key> {
    let len = (view as u32) as usize;
    (len <= INLINE).then(|| view & (u128::MAX >> (8 * (INLINE - len))))
}

/// A column of optional strings, one per row.
pub trait Column {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn get(&self, row: usize) -> Option<&[u8]>;
    /// The value as the tally reads it; columns that hold views give them without a copy.
    #[inline]
    fn slot(&self, row: usize) -> Slot<'_> {
        self.get(row).map_or(Slot::Missing, slot_of)
    }
    /// A word equal for two rows of one batch when it is known that their values are equal
    /// (an Arrow view); None when the column has none.
    #[inline]
    fn same(&self, _row: usize) -> Option<u128> {
        None
    }
}

impl<T: AsRef<[u8]>> Column for Vec<Option<T>> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn get(&self, row: usize) -> Option<&[u8]> {
        self[row].as_ref().map(AsRef::as_ref)
    }
}

/// The columns of one batch of rows. The first three must not be missing in any row.
pub struct Batch<'a, C: Column> {
    pub run: &'a C,
    pub sample_id: &'a C,
    /// ground truth, status, prediction, first label of the ranking: the counted values
    pub values: [&'a C; 4],
}

impl<C: Column> Clone for Batch<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Column> Copy for Batch<'_, C> {}

/// Where a coded column has no value.
pub const NONE: u32 = u32::MAX;

/// A column of a batch as dictionary codes: per row the index of its value in `dict`, or
/// `NONE` where it has none (a missing entry of `dict` is missing too). The values of a
/// Parquet column as it is stored: each distinct value is looked at once per batch, not once
/// per row.
pub struct Coded<'a, D: Column> {
    pub codes: &'a [u32],
    pub dict: &'a D,
}

impl<D: Column> Clone for Coded<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: Column> Copy for Coded<'_, D> {}

/// The columns of one batch as codes, as [`Batch`] holds them as values.
pub struct CodedBatch<'a, D: Column> {
    pub run: Coded<'a, D>,
    pub sample_id: Coded<'a, D>,
    /// ground truth, status, prediction, first label of the ranking
    pub values: [Coded<'a, D>; 4],
    /// a row without a first label counts its prediction as its first label
    pub first_or_pred: bool,
}

/// What is wrong with a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TallyError {
    /// The columns differ in length.
    Ragged,
    /// A row (counted from the first row given to the tally) has no run name.
    NoRun(u64),
    /// A row has no sample id.
    NoSample(u64),
    /// More distinct values than codes.
    TooMany,
    /// More runs than `MAX_RUNS`.
    TooManyRuns,
    /// A coded column names a value past its dictionary.
    BadCode,
}

impl std::fmt::Display for TallyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TallyError::Ragged => write!(f, "the columns of a batch differ in length"),
            TallyError::NoRun(r) => write!(f, "row {} has no run name", r + 1),
            TallyError::NoSample(r) => write!(f, "row {} has no sample id", r + 1),
            TallyError::TooMany => write!(f, "more than 2^32 distinct values"),
            TallyError::TooManyRuns => write!(f, "more than {MAX_RUNS} runs in one table"),
            TallyError::BadCode => write!(f, "a dictionary code past its dictionary"),
        }
    }
}

impl std::error::Error for TallyError {}

pub(crate) type Map<K, V> = HashMap<K, V, FixedState>;

/// Value-set codes below this are counted in a dense array per run; the rest in a map.
pub(crate) const DENSE: usize = 1024;
/// Runs are numbered in 24 bits next to the sample hashes.
pub(crate) const MAX_RUNS: u32 = 1 << 24;

pub(crate) fn map<K, V>() -> Map<K, V> {
    HashMap::with_hasher(FixedState::with_seed(0x6765_722d_7461_6c6c))
}

/// Strings to codes in order of first appearance.
pub(crate) struct Interner {
    codes: Map<Vec<u8>, u32>,
    pub(crate) values: Vec<Vec<u8>>,
}

impl Interner {
    pub(crate) fn new() -> Self {
        Interner {
            codes: map(),
            values: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn code(&mut self, b: &[u8]) -> Result<u32, TallyError> {
        if let Some(&c) = self.codes.get(b) {
            return Ok(c);
        }
        let next = u32::try_from(self.values.len())
            .ok()
            .filter(|&c| c != u32::MAX)
            .ok_or(TallyError::TooMany)?;
        self.codes.insert(b.to_vec(), next);
        self.values.push(b.to_vec());
        Ok(next)
    }
}

/// The keys of one row's counted values, hashed as one word (the keys are folded into 64 bits
/// first: one round of the map's hash instead of four, and no length prefix).
#[derive(Eq)]
pub(crate) struct ValueSet(pub(crate) [Key; 4]);

impl PartialEq for ValueSet {
    /// Without a branch or a call (an array's `==` is a `memcmp`).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0
    }
}

impl std::hash::Hash for ValueSet {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        const M: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut h = 0u64;
        for k in self.0 {
            h = (h ^ (k as u64) ^ ((k >> 64) as u64).rotate_left(29)).wrapping_mul(M);
        }
        state.write_u64(h);
    }
}

/// What a tally found: the runs in order of first appearance; for each counted column its
/// distinct values in byte order, code 0 being the missing value; the distinct value sets
/// (a code per column), in order; and one entry per distinct (run, value set), in that order,
/// with its rows; then the runs whose sample ids hash alike (to be confirmed on the strings).
/// The same for any number of threads and any batch sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tallied {
    pub runs: Vec<Vec<u8>>,
    pub values: [Vec<Option<Vec<u8>>>; 4],
    pub sets: Vec<[u32; 4]>,
    pub run: Vec<u32>,
    pub set: Vec<u32>,
    pub n: Vec<u64>,
    pub maybe_duplicated: Vec<u32>,
}

/// Batches smaller than this are not split between threads (by default).
const SPLIT_MIN: usize = 8192;

/// The per-run counts and duplicate check of one table, fed batch by batch. Each batch is split
/// into as many ranges of rows as there are shards, counted in parallel, each shard with its own
/// run and value codes; the runs new to a shard are then named in the tally's own run codes, in
/// row order, so that runs keep the order of their first row. After an error the tally holds
/// part of the failed batch: drop it.
pub struct Tally {
    check_duplicates: bool,
    rows: u64,
    shards: Vec<Shard>,
    /// batches of fewer rows go to one shard
    split_min: usize,
    /// run names, in order of first appearance
    runs: Interner,
    /// per shard: its run code -> the tally's
    to_run: Vec<Vec<u32>>,
}

impl Tally {
    /// A tally with one shard per thread of the current rayon pool (at most 8).
    pub fn new(check_duplicates: bool) -> Self {
        Self::with_shards(check_duplicates, rayon::current_num_threads().clamp(1, 8))
    }

    pub fn with_shards(check_duplicates: bool, shards: usize) -> Self {
        let shards = shards.max(1);
        Tally {
            check_duplicates,
            rows: 0,
            shards: (0..shards).map(|_| Shard::new(check_duplicates)).collect(),
            split_min: SPLIT_MIN,
            runs: Interner::new(),
            to_run: vec![Vec::new(); shards],
        }
    }

    /// Splits batches of at least `rows` rows between the shards (tests and fuzzing split
    /// small ones).
    pub fn split_from(mut self, rows: usize) -> Self {
        self.split_min = rows.max(1);
        self
    }

    /// Turns to hashes past `n` distinct sample ids a shard (tests and fuzzing reach the bound
    /// with few rows).
    pub fn ids_bound(mut self, n: usize) -> Self {
        for s in &mut self.shards {
            s.max_ids = n;
        }
        self
    }

    /// Counts a batch. Returns the rows of the batch that are the first of their run, in order.
    pub fn add<C: Column + Sync>(&mut self, b: &Batch<'_, C>) -> Result<Vec<usize>, TallyError> {
        self.add_all(std::slice::from_ref(b))
    }

    /// Counts batches that follow one another, as one: their rows are split between the shards
    /// once. Returns the rows that are the first of their run, numbered across the batches
    /// (the first row of the second batch follows the last of the first), in order.
    pub fn add_all<C: Column + Sync>(
        &mut self,
        batches: &[Batch<'_, C>],
    ) -> Result<Vec<usize>, TallyError> {
        let mut start = Vec::with_capacity(batches.len() + 1);
        start.push(0usize);
        for b in batches {
            let n = b.run.len();
            if b.sample_id.len() != n || b.values.iter().any(|c| c.len() != n) {
                return Err(TallyError::Ragged);
            }
            start.push(start[start.len() - 1] + n);
        }
        let n = start[batches.len()];
        let found = self.split(n, |shard, lo, hi, base| {
            let mut new = Vec::new();
            for (i, b) in batches.iter().enumerate() {
                let (from, to) = (lo.max(start[i]), hi.min(start[i + 1]));
                if from < to {
                    let rows = from - start[i]..to - start[i];
                    let got = shard.add(b, rows, base + start[i] as u64)?;
                    new.extend(got.into_iter().map(|(row, r)| (start[i] + row, r)));
                }
            }
            Ok(new)
        });
        self.name_new_runs(found, n, |at| {
            let i = start.partition_point(|&s| s <= at) - 1;
            batches[i].run.get(at - start[i])
        })
    }

    /// Counts a batch given as codes ([`CodedBatch`]): the same counts as [`Tally::add`] of
    /// its values. Returns the rows of the batch that are the first of their run, in order.
    pub fn add_coded<D: Column + Sync>(
        &mut self,
        b: &CodedBatch<'_, D>,
    ) -> Result<Vec<usize>, TallyError> {
        let n = b.run.codes.len();
        if b.sample_id.codes.len() != n || b.values.iter().any(|c| c.codes.len() != n) {
            return Err(TallyError::Ragged);
        }
        let cols = [
            &b.run,
            &b.sample_id,
            &b.values[0],
            &b.values[1],
            &b.values[2],
            &b.values[3],
        ];
        for c in cols {
            // `NONE` + 1 wraps to 0: the largest code + 1, no more than the dictionary's length
            let top = c.codes.iter().fold(0u32, |m, &x| m.max(x.wrapping_add(1)));
            if top as usize > c.dict.len() {
                return Err(TallyError::BadCode);
            }
        }
        let found = self.split(n, |shard, lo, hi, base| shard.add_coded(b, lo..hi, base));
        self.name_new_runs(found, n, |row| {
            let e = b.run.codes[row];
            (e != NONE).then(|| b.run.dict.get(e as usize)).flatten()
        })
    }

    /// `count(shard, lo, hi, base)` of the rows `lo..hi` of the `n` given, on each shard in
    /// parallel (batches under `split_min` rows on one), row 0 being row `base` of the table:
    /// each shard's new runs (row, the shard's code).
    fn split<F>(&mut self, n: usize, count: F) -> Vec<Result<Vec<(usize, u32)>, TallyError>>
    where
        F: Fn(&mut Shard, usize, usize, u64) -> Result<Vec<(usize, u32)>, TallyError> + Sync,
    {
        let k = if n < self.split_min {
            1
        } else {
            self.shards.len()
        };
        let step = n.div_ceil(k).max(1);
        let base = self.rows;
        self.shards[..k]
            .par_iter_mut()
            .enumerate()
            .map(|(s, shard)| count(shard, (s * step).min(n), ((s + 1) * step).min(n), base))
            .collect()
    }

    /// Names in the tally's run codes the runs new to each shard (rows of the `n` just counted,
    /// with the shard's code, in row order within each shard), shard after shard so that runs
    /// keep the order of their first row. Returns the rows that are the first of their run.
    fn name_new_runs<'a>(
        &mut self,
        found: Vec<Result<Vec<(usize, u32)>, TallyError>>,
        n: usize,
        name_of: impl Fn(usize) -> Option<&'a [u8]>,
    ) -> Result<Vec<usize>, TallyError> {
        let base = self.rows;
        let mut firsts = Vec::new();
        for (s, got) in found.into_iter().enumerate() {
            for (at, local) in got? {
                let name = name_of(at).ok_or(TallyError::NoRun(base + at as u64))?;
                let known = self.runs.values.len();
                let r = self.runs.code(name)?;
                if r as usize == known {
                    if r >= MAX_RUNS {
                        return Err(TallyError::TooManyRuns);
                    }
                    firsts.push(at);
                }
                debug_assert_eq!(local as usize, self.to_run[s].len());
                self.to_run[s].push(r);
            }
        }
        self.rows += n as u64;
        Ok(firsts)
    }

    /// The counts, and the runs whose sample hashes repeat.
    pub fn finish(self) -> Tallied {
        merge::merge(
            self.runs.values,
            self.shards,
            &self.to_run,
            self.check_duplicates,
        )
    }
}

/// The runs whose sample hashes repeat, in order, from each shard's hashes (run << 40 | 40 bits
/// of the hash, the run in the shard's codes) and its run codes in the tally's. The hashes are
/// placed by run (a counting sort), then each run's few are sorted on their own, in parallel:
/// small sorts that stay in cache.
pub(crate) fn repeated_runs(parts: Vec<(Vec<u64>, &Vec<u32>)>, runs: usize) -> Vec<u32> {
    const LOW: u64 = (1 << 40) - 1;
    let mut start = vec![0usize; runs + 1];
    for (part, names) in &parts {
        for &s in part {
            start[names[(s >> 40) as usize] as usize + 1] += 1;
        }
    }
    for r in 0..runs {
        start[r + 1] += start[r];
    }
    let mut at = start.clone();
    let mut placed = vec![0u64; start[runs]];
    for (part, names) in parts {
        for s in part {
            let r = names[(s >> 40) as usize] as usize;
            placed[at[r]] = s & LOW;
            at[r] += 1;
        }
    }
    let mut slices = Vec::with_capacity(runs);
    let mut rest = placed.as_mut_slice();
    for r in 0..runs {
        let (head, tail) = rest.split_at_mut(start[r + 1] - start[r]);
        slices.push((r as u32, head));
        rest = tail;
    }
    slices
        .into_par_iter()
        .filter_map(|(r, s)| {
            s.sort_unstable();
            s.windows(2).any(|w| w[0] == w[1]).then_some(r)
        })
        .collect()
}

/// The string behind a key other than `MISSING`.
pub(crate) fn unkey(k: Key, long: &[Vec<u8>]) -> Vec<u8> {
    let len = k as u32;
    if len == LONG {
        long[(k >> 32) as u32 as usize].clone()
    } else {
        k.to_le_bytes()[4..4 + len as usize].to_vec()
    }
}

#[cfg(test)]
mod tests;
