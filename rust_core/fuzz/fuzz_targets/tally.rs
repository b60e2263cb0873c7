//! `cargo +nightly fuzz run tally`: any bytes as rows of strings (run, sample id, four values;
//! fields split on 0xFF, rows on 0xFE), fed in batches of any size, one at a time or all
//! together, to tallies of 1 to 4 shards whose duplicate check keeps bits, plain hashes, or
//! turns from one to the other; every tally must agree with a plain count, and never miss a
//! repeated sample. The same rows as dictionary codes (`add_coded`, as a Parquet file stores
//! them: values in any order, some under two codes, missing ones as `NONE` or as a missing
//! entry) must give the same tally as their values.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use _core::tally::{Batch, Coded, CodedBatch, Tally, Tallied, NONE};
use libfuzzer_sys::fuzz_target;

type Row = (Vec<u8>, Vec<u8>, [Option<Vec<u8>>; 4]);

fn rows(data: &[u8]) -> Vec<Row> {
    data.split(|&b| b == 0xFE)
        .map(|line| {
            let mut f = line.split(|&b| b == 0xFF).map(<[u8]>::to_vec);
            let run = f.next().unwrap_or_default();
            let sid = f.next().unwrap_or_default();
            // an empty field is a missing value; "\0" the empty string
            let v = std::array::from_fn(|_| {
                f.next().filter(|x| !x.is_empty()).map(|x| if x == b"\0" { vec![] } else { x })
            });
            (run, sid, v)
        })
        .collect()
}

type Cols<'a> = (Vec<Option<&'a [u8]>>, Vec<Option<&'a [u8]>>, [Vec<Option<&'a [u8]>>; 4]);

fn cols(chunk: &[Row]) -> Cols<'_> {
    (
        chunk.iter().map(|r| Some(r.0.as_slice())).collect(),
        chunk.iter().map(|r| Some(r.1.as_slice())).collect(),
        std::array::from_fn(|j| chunk.iter().map(|r| r.2[j].as_deref()).collect()),
    )
}

fn feed(t: &mut Tally, rows: &[Row], batch: usize, together: bool) -> Vec<usize> {
    let owned: Vec<Cols<'_>> = rows.chunks(batch.max(1)).map(cols).collect();
    let batches: Vec<Batch<'_, Vec<Option<&[u8]>>>> = owned
        .iter()
        .map(|(run, sid, v)| Batch { run, sample_id: sid, values: [&v[0], &v[1], &v[2], &v[3]] })
        .collect();
    if together {
        return t.add_all(&batches).expect("valid batches");
    }
    let mut firsts = Vec::new();
    for (k, b) in batches.iter().enumerate() {
        let got = t.add(b).expect("a valid batch");
        firsts.extend(got.into_iter().map(|i| i + k * batch.max(1)));
    }
    firsts
}

fn decoded(t: &Tallied) -> BTreeMap<(Vec<u8>, [Option<Vec<u8>>; 4]), u64> {
    let mut out = BTreeMap::new();
    for i in 0..t.n.len() {
        let set = t.sets[t.set[i] as usize];
        let v = std::array::from_fn(|j| t.values[j][set[j] as usize].clone());
        *out.entry((t.runs[t.run[i] as usize].clone(), v)).or_insert(0) += t.n[i];
    }
    out
}

/// A column as codes into a dictionary of its values: a value seen before keeps its code unless
/// `fresh` says otherwise for that row; a missing value is `NONE` or entry 0 (missing).
fn coded(col: &[Option<&[u8]>], fresh: u8) -> (Vec<u32>, Vec<Option<Vec<u8>>>) {
    let mut dict: Vec<Option<Vec<u8>>> = vec![None];
    let mut codes = Vec::with_capacity(col.len());
    for (i, v) in col.iter().enumerate() {
        let bit = (fresh >> (i % 8)) & 1 == 1;
        codes.push(match v {
            None if bit => NONE,
            None => 0,
            Some(v) => match dict.iter().rposition(|d| d.as_deref() == Some(*v)) {
                Some(c) if !bit => c as u32,
                _ => {
                    dict.push(Some(v.to_vec()));
                    (dict.len() - 1) as u32
                }
            },
        });
    }
    (codes, dict)
}

/// The rows counted as codes, in batches of `batch`.
fn feed_coded(t: &mut Tally, rows: &[Row], batch: usize, fresh: u8) -> Vec<usize> {
    let mut firsts = Vec::new();
    for (k, chunk) in rows.chunks(batch.max(1)).enumerate() {
        let (run, sid, v) = cols(chunk);
        let cs: Vec<_> = [&run, &sid, &v[0], &v[1], &v[2], &v[3]]
            .iter()
            .map(|c| coded(c, fresh))
            .collect();
        let c = |j: usize| Coded { codes: &cs[j].0, dict: &cs[j].1 };
        let b = CodedBatch {
            run: c(0),
            sample_id: c(1),
            values: [c(2), c(3), c(4), c(5)],
            first_or_pred: false,
        };
        let got = t.add_coded(&b).expect("valid codes");
        firsts.extend(got.into_iter().map(|i| i + k * batch.max(1)));
    }
    firsts
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let rows = rows(rest);
    let mut want = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for (run, sid, v) in &rows {
        *want.entry((run.clone(), v.clone())).or_insert(0u64) += 1;
        if !seen.insert((run.clone(), sid.clone())) {
            twice.insert(run.clone());
        }
    }
    let shards = usize::from(head % 4) + 1;
    let batch = usize::from(head / 4 % 16) + 1;
    let bound = [usize::MAX, 0, 3][rows.len() % 3];
    // every batch split between the shards, however small
    let mut t = Tally::with_shards(true, shards).split_from(1).ids_bound(bound);
    let firsts = feed(&mut t, &rows, batch, head & 0x40 != 0);
    let got = t.finish();
    let mut c = Tally::with_shards(true, shards).split_from(1).ids_bound(bound);
    let firsts_coded = feed_coded(&mut c, &rows, batch, head.rotate_left(3));
    assert_eq!(firsts_coded, firsts);
    assert_eq!(c.finish(), got);
    assert_eq!(decoded(&got), want);
    assert_eq!(firsts.len(), got.runs.len());
    // hashes can only add candidates (collisions), never miss a repeat
    let found: BTreeSet<Vec<u8>> =
        got.maybe_duplicated.iter().map(|&r| got.runs[r as usize].clone()).collect();
    assert!(twice.is_subset(&found));
});
