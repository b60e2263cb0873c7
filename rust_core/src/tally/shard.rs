//! One thread's part of a tally: its own codes for runs and value sets, its counts and the
//! samples each run holds. Nothing here is shared, so shards count side by side without locks.

use std::ops::Range;

use foldhash::fast::FixedState;

use super::seen::{hash_id, Seen};
use super::{
    map, Batch, Column, Interner, Key, Map, Slot, TallyError, ValueSet, DENSE, LONG, MAX_RUNS,
    MISSING,
};

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
                key[j] = match col.slot(i) {
                    Slot::Missing => MISSING,
                    Slot::Inline(k) => k,
                    Slot::Long(s) => (u128::from(self.long[j].code(s)?) << 32) | LONG as Key,
                };
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
