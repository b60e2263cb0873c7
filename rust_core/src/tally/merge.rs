//! The shards of a tally made one: runs in the tally's codes, value sets and values by their
//! bytes, so that the result does not depend on how many shards counted it.

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

pub(crate) fn merge(
    runs: Vec<Vec<u8>>,
    shards: Vec<Shard>,
    to_run: &[Vec<u32>],
    check_duplicates: bool,
) -> Tallied {
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
    let mut parts = Vec::with_capacity(shards.len());
    for ((shard, names), spelled) in shards.into_iter().zip(to_run).zip(&spelled) {
        let local: Vec<u32> = spelled
            .iter()
            .map(|s| set_no[&std::array::from_fn(|j| code_of[j][&s[j]])])
            .collect();
        for (r, c, n) in shard.counts.entries() {
            counts.add(names[r as usize], local[c as usize], n);
        }
        if check_duplicates {
            parts.push((shard.samples, names));
        }
    }
    let maybe_duplicated = repeated_runs(parts, runs.len());
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
