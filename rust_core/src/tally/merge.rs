//! The shards of a tally made one: runs in the tally's codes, value sets and values by their
//! bytes, so that the result does not depend on how many shards counted it.

use rayon::prelude::*;

use super::seen::{repeat_across, shared_codes, Bits, Seen};
use super::shard::{Counts, Shard};
use super::{map, repeated_runs, unkey, Key, Map, Tallied, LONG, MISSING};

/// A value set with its long values spelled out: the same across shards.
type Spelled = [Option<Vec<u8>>; 4];

fn spell(key: &[Key; 4], shard: &Shard) -> Spelled {
    std::array::from_fn(|j| {
        let k = key[j];
        if k == MISSING {
            None
        } else if k as u32 == LONG {
            Some(shard.long[j].values[(k >> 32) as u32 as usize].clone())
        } else {
            Some(unkey(k, &[]))
        }
    })
}

/// The runs (the tally's codes) that may hold some sample twice (ids whose hashes meet).
fn repeats(shards: &mut [Shard], to_run: &[Vec<u32>], runs: usize) -> Vec<u32> {
    let mut found: Vec<u32> = shards
        .iter()
        .zip(to_run)
        .flat_map(|(s, names)| s.repeated.iter().map(|&r| names[r as usize]))
        .collect();
    if shards.iter().any(|s| matches!(s.seen, Seen::Hashes(_))) {
        let mut parts = Vec::with_capacity(shards.len());
        for (s, names) in shards.iter_mut().zip(to_run) {
            s.seen.turn_to_hashes();
            if let Seen::Hashes(v) = std::mem::replace(&mut s.seen, Seen::Hashes(Vec::new())) {
                parts.push((v, names));
            }
        }
        found.extend(repeated_runs(parts, runs));
    } else {
        // A run counted in more than one shard: its parts against each other, in one space of
        // codes, the runs in parallel.
        let (to, size) = shared_codes(shards.iter().filter_map(|s| s.seen.bits()).map(|b| b.0));
        let mut parts_of: Vec<Vec<(&Bits, &[u32])>> = vec![Vec::new(); runs];
        for ((s, names), to) in shards.iter().zip(to_run).zip(&to) {
            if let Some((_, bits)) = s.seen.bits() {
                for (local, b) in bits.iter().enumerate() {
                    parts_of[names[local] as usize].push((b, to));
                }
            }
        }
        let split: Vec<u32> = (0..runs as u32)
            .filter(|&r| parts_of[r as usize].len() > 1)
            .collect();
        let again: Vec<Option<u32>> = split
            .into_par_iter()
            .map_init(
                || vec![0u64; size.div_ceil(64)],
                |seen, r| repeat_across(&parts_of[r as usize], seen).then_some(r),
            )
            .collect();
        found.extend(again.into_iter().flatten());
    }
    found.sort_unstable();
    found.dedup();
    found
}

pub(crate) fn merge(
    runs: Vec<Vec<u8>>,
    mut shards: Vec<Shard>,
    to_run: &[Vec<u32>],
    check_duplicates: bool,
) -> Tallied {
    let maybe_duplicated = if check_duplicates {
        repeats(&mut shards, to_run, runs.len())
    } else {
        Vec::new()
    };
    // Every value set, spelled, and each column's distinct values in byte order.
    let spelled: Vec<Vec<Spelled>> = shards
        .iter()
        .map(|s| s.combo_keys.iter().map(|k| spell(k, s)).collect())
        .collect();
    let values: [Vec<Option<Vec<u8>>>; 4] = std::array::from_fn(|j| {
        let mut v: Vec<Option<Vec<u8>>> = spelled.iter().flatten().map(|s| s[j].clone()).collect();
        v.push(None);
        v.sort_unstable();
        v.dedup();
        v
    });
    let code_of: [Map<Option<Vec<u8>>, u32>; 4] = std::array::from_fn(|j| {
        let mut m = map();
        for (i, v) in values[j].iter().enumerate() {
            m.insert(v.clone(), i as u32);
        }
        m
    });
    // Value sets as code tuples; the tally's set numbers follow the tuples' order.
    let mut sets: Vec<[u32; 4]> = spelled
        .iter()
        .flatten()
        .map(|s| std::array::from_fn(|j| code_of[j][&s[j]]))
        .collect();
    sets.sort_unstable();
    sets.dedup();
    let set_no: Map<[u32; 4], u32> = sets
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();
    let mut counts = Counts::new();
    for ((shard, names), spelled) in shards.into_iter().zip(to_run).zip(&spelled) {
        let local: Vec<u32> = spelled
            .iter()
            .map(|s| set_no[&std::array::from_fn(|j| code_of[j][&s[j]])])
            .collect();
        for (r, c, n) in shard.counts.entries() {
            counts.add(names[r as usize], local[c as usize], n);
        }
    }
    let spilled = !counts.spill.is_empty();
    let mut entries: Vec<(u32, u32, u64)> = counts.entries().collect();
    if spilled {
        entries.sort_unstable();
    }
    let mut out = Tallied {
        runs,
        values,
        sets,
        run: Vec::with_capacity(entries.len()),
        set: Vec::with_capacity(entries.len()),
        n: Vec::with_capacity(entries.len()),
        maybe_duplicated,
    };
    for (r, c, n) in entries {
        out.run.push(r);
        out.set.push(c);
        out.n.push(n);
    }
    out
}
