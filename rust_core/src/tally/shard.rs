//! One thread's part of a tally: its own codes for runs and value sets, its counts and the
//! samples each run holds. Nothing here is shared, so shards count side by side without locks.

use std::ops::Range;

use foldhash::fast::FixedState;

use super::seen::{hash_id, Seen};
use super::{
    map, Batch, CodedBatch, Column, Interner, Key, Map, Slot, TallyError, ValueSet, DENSE, LONG,
    MAX_RUNS, MISSING, NONE,
};

/// Value sets of a coded batch are looked up in a table of this many cells at most (one per
/// combination of the four columns' codes), else in a map by the four codes.
const COMBO_TABLE: usize = 1 << 18;

/// A batch's value sets by the four columns' codes (each with one more code for "none"): a
/// table with a cell per combination while it has at most `COMBO_TABLE` cells, else a map.
struct ComboCache {
    sizes: [usize; 4],
    table: Vec<u32>,
    map: Map<u128, u32>,
}

impl ComboCache {
    fn new(sizes: [usize; 4]) -> Self {
        let cells = sizes.iter().try_fold(1usize, |a, &s| a.checked_mul(s));
        let table = match cells {
            Some(c) if c <= COMBO_TABLE => vec![NONE; c],
            _ => Vec::new(),
        };
        ComboCache {
            sizes,
            table,
            map: map(),
        }
    }

    #[inline]
    fn cell(&self, c: &[usize; 4]) -> usize {
        let s = &self.sizes;
        ((c[0] * s[1] + c[1]) * s[2] + c[2]) * s[3] + c[3]
    }

    #[inline]
    fn packed(c: &[usize; 4]) -> u128 {
        c.iter().fold(0u128, |a, &x| (a << 32) | x as u128)
    }

    /// The value set of these codes, `NONE` if not yet known.
    #[inline]
    fn get(&self, c: &[usize; 4]) -> u32 {
        match self.table.is_empty() {
            false => self.table[self.cell(c)],
            true => self.map.get(&Self::packed(c)).copied().unwrap_or(NONE),
        }
    }

    fn put(&mut self, c: &[usize; 4], set: u32) {
        match self.table.is_empty() {
            false => {
                let cell = self.cell(c);
                self.table[cell] = set;
            }
            true => {
                self.map.insert(Self::packed(c), set);
            }
        }
    }
}

/// Counts by (run, value set): dense per run for the first `DENSE` value-set codes (the value
/// sets are few), a map past them.
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) dense: Vec<Vec<u64>>,
    pub(crate) spill: Map<u64, u64>,
}

impl Counts {
    pub(crate) fn new() -> Self {
        Counts {
            dense: Vec::new(),
            spill: map(),
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, run: u32, set: u32, n: u64) {
        let r = run as usize;
        if r >= self.dense.len() {
            self.dense.resize_with(r + 1, Vec::new);
        }
        let c = set as usize;
        let row = &mut self.dense[r];
        match row.get_mut(c) {
            Some(k) => *k += n,
            None if c < DENSE => {
                row.resize(c + 1, 0);
                row[c] = n;
            }
            None => {
                *self
                    .spill
                    .entry((u64::from(run) << 32) | u64::from(set))
                    .or_insert(0) += n
            }
        }
    }

    /// (run, value set, rows) for every count above zero.
    pub(crate) fn entries(self) -> impl Iterator<Item = (u32, u32, u64)> {
        let dense = self.dense.into_iter().enumerate().flat_map(|(r, row)| {
            row.into_iter()
                .enumerate()
                .filter(|&(_, n)| n > 0)
                .map(move |(c, n)| (r as u32, c as u32, n))
        });
        dense.chain(
            self.spill
                .into_iter()
                .map(|(k, n)| ((k >> 32) as u32, k as u32, n)),
        )
    }
}

pub(crate) struct Shard {
    check_duplicates: bool,
    pub(crate) runs: Interner,
    pub(crate) counts: Counts,
    /// the samples each run holds
    pub(crate) seen: Seen,
    /// runs (the shard's codes) that may hold a sample twice, maybe more than once each
    pub(crate) repeated: Vec<u32>,
    /// distinct sample ids coded before turning to hashes
    pub(crate) max_ids: usize,
    combos: Map<ValueSet, u32>,
    pub(crate) combo_keys: Vec<[Key; 4]>,
    /// each column's values longer than `INLINE` bytes
    pub(crate) long: [Interner; 4],
    hasher: FixedState,
}

impl Shard {
    pub(crate) fn new(check_duplicates: bool) -> Self {
        Shard {
            check_duplicates,
            runs: Interner::new(),
            counts: Counts::new(),
            seen: Seen::new(),
            repeated: Vec::new(),
            max_ids: super::seen::MAX_IDS,
            combos: map(),
            combo_keys: Vec::new(),
            long: std::array::from_fn(|_| Interner::new()),
            hasher: FixedState::with_seed(0x6765_722d_6475_7073),
        }
    }

    #[inline]
    fn combo_of(&mut self, key: [Key; 4]) -> Result<u32, TallyError> {
        if let Some(&c) = self.combos.get(&ValueSet(key)) {
            return Ok(c);
        }
        let c = u32::try_from(self.combo_keys.len()).map_err(|_| TallyError::TooMany)?;
        self.combos.insert(ValueSet(key), c);
        self.combo_keys.push(key);
        Ok(c)
    }

    /// The code of a run by name; pushes (row, code) to `new` when the shard has not seen it.
    #[inline]
    fn run_of(
        &mut self,
        name: &[u8],
        row: usize,
        new: &mut Vec<(usize, u32)>,
    ) -> Result<u32, TallyError> {
        let known = self.runs.values.len();
        let r = self.runs.code(name)?;
        if r as usize == known {
            if r >= MAX_RUNS {
                return Err(TallyError::TooManyRuns);
            }
            new.push((row, r));
        }
        Ok(r)
    }

    /// The key of a value as the tally reads it.
    #[inline]
    fn key_of(&mut self, j: usize, slot: Slot<'_>) -> Result<Key, TallyError> {
        Ok(match slot {
            Slot::Missing => MISSING,
            Slot::Inline(k) => k,
            Slot::Long(s) => (u128::from(self.long[j].code(s)?) << 32) | LONG as Key,
        })
    }

    /// `add` for a batch of codes: each distinct run, sample id and value is looked at once
    /// (the first time a row holds it), and each combination of the four values' codes once.
    pub(crate) fn add_coded<D: Column>(
        &mut self,
        b: &CodedBatch<'_, D>,
        rows: Range<usize>,
        base: u64,
    ) -> Result<Vec<(usize, u32)>, TallyError> {
        let mut new = Vec::new();
        let mut run_of = vec![NONE; b.run.dict.len()];
        // each sample id's hash and code (`Seen::code_of`)
        let mut id_of: Vec<Option<(u64, Option<usize>)>> = match self.check_duplicates {
            true => vec![None; b.sample_id.dict.len()],
            false => Vec::new(),
        };
        let mut combos = ComboCache::new(std::array::from_fn(|j| b.values[j].dict.len() + 1));
        for i in rows {
            let at = base + i as u64;
            let e = b.run.codes[i];
            let r = match run_of.get(e as usize) {
                Some(&r) if r != NONE => r,
                _ => {
                    let name = (e != NONE).then(|| b.run.dict.get(e as usize)).flatten();
                    let r = self.run_of(name.ok_or(TallyError::NoRun(at))?, i, &mut new)?;
                    run_of[e as usize] = r;
                    r
                }
            };
            // `NONE` to the last code (the codes were checked to lie within their dictionary)
            let sizes = combos.sizes;
            let codes: [usize; 4] =
                std::array::from_fn(|j| (b.values[j].codes[i] as usize).min(sizes[j] - 1));
            let known = combos.get(&codes);
            let combo = match known {
                c if c != NONE => c,
                _ => {
                    let slot = |j: usize| match codes[j] + 1 < sizes[j] {
                        true => b.values[j].dict.slot(codes[j]),
                        false => Slot::Missing,
                    };
                    let mut key = [MISSING; 4];
                    for (j, k) in key.iter_mut().enumerate() {
                        *k = self.key_of(j, slot(j))?;
                    }
                    if key[3] == MISSING && b.first_or_pred {
                        // the prediction's value, coded as a first label (a long one among
                        // the first labels' long values)
                        key[3] = self.key_of(3, slot(2))?;
                    }
                    let c = self.combo_of(key)?;
                    combos.put(&codes, c);
                    c
                }
            };
            self.counts.add(r, combo, 1);
            if self.check_duplicates {
                let e = b.sample_id.codes[i];
                let (h, c) = match id_of.get(e as usize) {
                    Some(&Some(known)) => known,
                    _ => {
                        let id = (e != NONE)
                            .then(|| b.sample_id.dict.get(e as usize))
                            .flatten();
                        let h = hash_id(&self.hasher, id.ok_or(TallyError::NoSample(at))?);
                        let c = self.seen.code_of(h);
                        id_of[e as usize] = Some((h, c));
                        (h, c)
                    }
                };
                if self.seen.note_coded(r, h, c, self.max_ids) {
                    self.repeated.push(r);
                }
            }
        }
        Ok(new)
    }

    /// Counts the rows `rows` of a batch whose row 0 is row `base` of the table. Returns the
    /// rows whose run is new to this shard, with the shard's code for it.
    pub(crate) fn add<C: Column>(
        &mut self,
        b: &Batch<'_, C>,
        rows: Range<usize>,
        base: u64,
    ) -> Result<Vec<(usize, u32)>, TallyError> {
        let mut new = Vec::new();
        // Rows of one batch whose run views are equal hold the same run: a look-up of the view,
        // not of the name's bytes.
        let mut by_view: Map<u128, u32> = map();
        let mut last: Option<(u128, usize, u32)> = None;
        for i in rows {
            let at = base + i as u64;
            let view = b.run.same(i);
            let r = match (view, last) {
                // the run of the row before (runs in blocks), by its view or its bytes
                (Some(v), Some((w, _, r))) if v == w => r,
                (None, Some((_, j, r))) if b.run.get(i) == b.run.get(j) => r,
                _ => match view.and_then(|v| by_view.get(&v)) {
                    Some(&r) => r,
                    None => {
                        let name = b.run.get(i).ok_or(TallyError::NoRun(at))?;
                        let r = self.run_of(name, i, &mut new)?;
                        if let Some(v) = view {
                            by_view.insert(v, r);
                        }
                        r
                    }
                },
            };
            last = Some((view.unwrap_or(0), i, r));
            let mut key = [MISSING; 4];
            for (j, col) in b.values.iter().enumerate() {
                key[j] = self.key_of(j, col.slot(i))?;
            }
            let combo = self.combo_of(key)?;
            self.counts.add(r, combo, 1);
            if self.check_duplicates {
                let id = b.sample_id.get(i).ok_or(TallyError::NoSample(at))?;
                if self.seen.note(r, hash_id(&self.hasher, id), self.max_ids) {
                    self.repeated.push(r);
                }
            }
        }
        Ok(new)
    }
}
