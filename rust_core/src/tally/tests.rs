use super::*;
use std::collections::BTreeMap;

type Row = (&'static str, &'static str, [Option<&'static str>; 4]);

type Col = Vec<Option<&'static str>>;

fn cols(rows: &[Row]) -> (Col, Col, [Col; 4]) {
    let run = rows.iter().map(|r| Some(r.0)).collect();
    let sid = rows.iter().map(|r| Some(r.1)).collect();
    let values = std::array::from_fn(|j| rows.iter().map(|r| r.2[j]).collect());
    (run, sid, values)
}

fn feed(t: &mut Tally, rows: &[Row]) -> Result<Vec<usize>, TallyError> {
    let (run, sid, v) = cols(rows);
    t.add(&Batch {
        run: &run,
        sample_id: &sid,
        values: [&v[0], &v[1], &v[2], &v[3]],
    })
}

/// (run, values) -> count, read back from the codes.
fn decoded(t: &Tallied) -> BTreeMap<(String, [Option<String>; 4]), u64> {
    let s = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8(b.clone()).unwrap());
    let mut out = BTreeMap::new();
    for i in 0..t.n.len() {
        let run = String::from_utf8(t.runs[t.run[i] as usize].clone()).unwrap();
        let set = t.sets[t.set[i] as usize];
        let vals = std::array::from_fn(|j| s(&t.values[j][set[j] as usize]));
        *out.entry((run, vals)).or_insert(0) += t.n[i];
    }
    out
}

fn naive(rows: &[Row]) -> BTreeMap<(String, [Option<String>; 4]), u64> {
    let mut out = BTreeMap::new();
    for (run, _, v) in rows {
        let vals = v.map(|x| x.map(str::to_string));
        *out.entry((run.to_string(), vals)).or_insert(0) += 1;
    }
    out
}

const LONG: &str = "a run name well over fifteen bytes long";

fn sample() -> Vec<Row> {
    vec![
        (
            "r1",
            "s1",
            [Some("Happy"), Some("ok"), Some("happy"), Some("happy")],
        ),
        (
            "r1",
            "s2",
            [Some("Sad"), Some("ok"), Some("happy"), Some("happy")],
        ),
        (
            "r1",
            "s3",
            [Some("Happy"), Some("ok"), Some("happy"), Some("happy")],
        ),
        (
            LONG,
            "s1",
            [Some("Happy"), Some("no_candidate"), None, None],
        ),
        ("r1", "s4", [None, Some("ok"), Some(LONG), Some("x")]),
        (
            LONG,
            "s2",
            [Some("Happy"), Some("no_candidate"), None, None],
        ),
    ]
}

#[test]
fn counts_equal_a_plain_count_across_batches() {
    let rows = sample();
    let mut t = Tally::new(true);
    assert_eq!(feed(&mut t, &rows[..4]).unwrap(), vec![0, 3]);
    // r1 comes back after another run: not a first row again.
    assert_eq!(feed(&mut t, &rows[4..]).unwrap(), Vec::<usize>::new());
    let got = t.finish();
    assert_eq!(decoded(&got), naive(&rows));
    assert_eq!(got.runs, vec![b"r1".to_vec(), LONG.as_bytes().to_vec()]);
    assert!(got.maybe_duplicated.is_empty());
    // Sorted by run, then codes; code 0 is the missing value.
    assert!(got.run.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(got.values[0][0], None);
    assert_eq!(got.n.iter().sum::<u64>(), rows.len() as u64);
}

#[test]
fn a_repeated_sample_marks_its_run_only() {
    let mut rows = sample();
    rows.push((
        "r1",
        "s2",
        [Some("Sad"), Some("ok"), Some("sad"), Some("sad")],
    ));
    let mut t = Tally::new(true);
    feed(&mut t, &rows).unwrap();
    assert_eq!(t.finish().maybe_duplicated, vec![0]);
    // The same sample in two runs is no duplicate.
    let mut t = Tally::new(true);
    feed(&mut t, &sample()).unwrap();
    assert!(t.finish().maybe_duplicated.is_empty());
}

#[test]
fn without_the_check_no_sample_is_needed() {
    let rows = sample();
    let (run, _, v) = cols(&rows);
    let none: Vec<Option<&str>> = vec![None; rows.len()];
    let batch = Batch {
        run: &run,
        sample_id: &none,
        values: [&v[0], &v[1], &v[2], &v[3]],
    };
    let mut t = Tally::new(false);
    t.add(&batch).unwrap();
    assert_eq!(decoded(&t.finish()), naive(&rows));
    let mut t = Tally::new(true);
    assert_eq!(t.add(&batch), Err(TallyError::NoSample(0)));
}

#[test]
fn bad_batches_are_refused() {
    let mut t = Tally::new(true);
    feed(&mut t, &sample()).unwrap();
    let run: Vec<Option<&str>> = vec![Some("r"), None];
    let two: Vec<Option<&str>> = vec![Some("x"), Some("y")];
    let one: Vec<Option<&str>> = vec![Some("x")];
    let b = Batch {
        run: &run,
        sample_id: &two,
        values: [&two, &two, &two, &two],
    };
    // Rows count from the first row the tally was given: 6 before, the second row of this batch.
    assert_eq!(t.add(&b), Err(TallyError::NoRun(7)));
    assert_eq!(TallyError::NoRun(7).to_string(), "row 8 has no run name");
    let b = Batch {
        run: &two,
        sample_id: &one,
        values: [&two, &two, &two, &two],
    };
    assert_eq!(t.add(&b), Err(TallyError::Ragged));
}

#[test]
fn inline_keys_do_not_meet_long_ones_or_each_other() {
    // Keys hold the length: "a", "a\0" and "" differ from each other and from missing; 12 and
    // 13 bytes take the two paths.
    let a12 = "abcdefghijkl";
    let a13 = "abcdefghijklm";
    let vals: Vec<Option<&'static str>> = vec![
        Some("a"),
        Some("a\0"),
        Some(""),
        None,
        Some(a12),
        Some(a13),
        Some(a13),
    ];
    let rows: Vec<Row> = vals
        .iter()
        .map(|v| ("r", "s", [*v, Some("ok"), *v, None]))
        .collect();
    let mut t = Tally::new(false);
    feed(&mut t, &rows).unwrap();
    let got = t.finish();
    assert_eq!(got.values[0].len(), 6); // missing + 5 distinct
    assert_eq!(decoded(&got), naive(&rows));
}

#[test]
fn views_are_read_as_keys() {
    for s in ["", "a", "abcdefghijkl"] {
        let b = s.as_bytes();
        // An Arrow view with garbage past the length reads as the packed string.
        let mut raw = pack(b).to_le_bytes();
        for x in raw.iter_mut().skip(4 + b.len()) {
            *x = 0xAB;
        }
        assert_eq!(inline_view(u128::from_le_bytes(raw)), Some(pack(b)));
        assert_eq!(unkey(pack(b), &[]), b.to_vec());
    }
    let mut long = [0u8; 16];
    long[..4].copy_from_slice(&13u32.to_le_bytes());
    assert_eq!(inline_view(u128::from_le_bytes(long)), None);
}

/// Rows enough to be split between shards, runs interleaved and in blocks, with repeats.
fn many(n: usize) -> Vec<(String, String, [Option<String>; 4])> {
    let labels = ["Happy", "Sad", "a label longer than twelve", "Neutral"];
    (0..n)
        .map(|i| {
            let run = if i % 3 == 0 {
                format!("block-run-{}", i / 5000)
            } else {
                format!("r{}", i % 7)
            };
            let v = |k: usize| (k % 5 != 4).then(|| labels[k % 4].to_string());
            (
                run,
                format!("sample-{i}"),
                [v(i), Some("ok".into()), v(i / 3), v(i * 7)],
            )
        })
        .collect()
}

fn feed_owned(t: &mut Tally, rows: &[(String, String, [Option<String>; 4])]) -> Vec<usize> {
    let (run, sid, v) = owned(rows);
    t.add(&Batch {
        run: &run,
        sample_id: &sid,
        values: [&v[0], &v[1], &v[2], &v[3]],
    })
    .unwrap()
}

/// The first rows and the result of one shard given all rows at once: what any split must give.
fn one_shard(rows: &[(String, String, [Option<String>; 4])]) -> (Vec<usize>, Tallied) {
    let mut one = Tally::with_shards(true, 1);
    let firsts = feed_owned(&mut one, rows);
    (firsts, one.finish())
}

#[test]
fn shards_and_batch_sizes_do_not_change_the_result() {
    let rows = many(40_000);
    let (firsts_one, one) = one_shard(&rows);
    for (shards, batch, split) in [
        (2, 40_000, 8192),
        (3, 9_000, 8192),
        (8, 10_000, 1),
        (2, 700, 1),
    ] {
        let mut t = Tally::with_shards(true, shards).split_from(split);
        let mut firsts = Vec::new();
        for (k, chunk) in rows.chunks(batch).enumerate() {
            firsts.extend(feed_owned(&mut t, chunk).into_iter().map(|i| i + k * batch));
        }
        assert_eq!(firsts, firsts_one, "{shards} shards, batches of {batch}");
        assert_eq!(t.finish(), one, "{shards} shards, batches of {batch}");
    }
    // Runs in order of their first row; every row counted once.
    let names: Vec<String> = one
        .runs
        .iter()
        .map(|r| String::from_utf8(r.clone()).unwrap())
        .collect();
    let mut seen = Vec::new();
    for r in &rows {
        if !seen.contains(&r.0) {
            seen.push(r.0.clone());
        }
    }
    assert_eq!(names, seen);
    assert_eq!(one.n.iter().sum::<u64>(), rows.len() as u64);
    assert!(one.maybe_duplicated.is_empty());
}

#[test]
fn a_repeat_split_between_shards_is_found() {
    let mut rows = many(40_000);
    // The same sample of one run near the start and near the end: two different shards.
    rows[39_999] = (rows[1].0.clone(), rows[1].1.clone(), rows[39_999].2.clone());
    let mut t = Tally::with_shards(true, 2);
    feed_owned(&mut t, &rows);
    let got = t.finish();
    let r = got
        .runs
        .iter()
        .position(|n| n == rows[1].0.as_bytes())
        .unwrap() as u32;
    assert_eq!(got.maybe_duplicated, vec![r]);
}

/// The columns of some rows, owned, to be borrowed as a batch.
type Owned<'a> = (
    Vec<Option<&'a str>>,
    Vec<Option<&'a str>>,
    [Vec<Option<&'a str>>; 4],
);

fn owned(rows: &[(String, String, [Option<String>; 4])]) -> Owned<'_> {
    (
        rows.iter().map(|r| Some(r.0.as_str())).collect(),
        rows.iter().map(|r| Some(r.1.as_str())).collect(),
        std::array::from_fn(|j| rows.iter().map(|r| r.2[j].as_deref()).collect()),
    )
}

#[test]
fn batches_added_together_count_as_one() {
    let rows = many(40_000);
    let (firsts_one, one) = one_shard(&rows);
    // uneven batches, some empty, given together: the shards' ranges cut across them
    let cuts = [0, 5, 5, 12_000, 12_001, 30_000, 40_000];
    let parts: Vec<Owned<'_>> = cuts.windows(2).map(|w| owned(&rows[w[0]..w[1]])).collect();
    let batches: Vec<Batch<'_, Vec<Option<&str>>>> = parts
        .iter()
        .map(|(run, sid, v)| Batch {
            run,
            sample_id: sid,
            values: [&v[0], &v[1], &v[2], &v[3]],
        })
        .collect();
    for shards in [1, 2, 3] {
        let mut t = Tally::with_shards(true, shards).split_from(1);
        assert_eq!(t.add_all(&batches).unwrap(), firsts_one, "{shards} shards");
        assert_eq!(t.finish(), one, "{shards} shards");
    }
    // a ragged batch among them is refused before anything is counted
    let mut short = owned(&rows[..10]);
    short.1.pop();
    let bad = Batch {
        run: &short.0,
        sample_id: &short.1,
        values: [&short.2[0], &short.2[1], &short.2[2], &short.2[3]],
    };
    let mut t = Tally::with_shards(true, 2);
    let all = [batches[0], bad];
    assert_eq!(t.add_all(&all), Err(TallyError::Ragged));
}

#[test]
fn repeats_are_found_with_bits_with_hashes_and_across_the_turn() {
    let mut rows = many(40_000);
    // a repeat near the start (one shard), one split between shards, and a repeat of a sample
    // id that other runs hold too
    rows[39_999] = (rows[1].0.clone(), rows[1].1.clone(), rows[39_999].2.clone());
    rows[101] = (
        rows[100].0.clone(),
        rows[100].1.clone(),
        rows[101].2.clone(),
    );
    rows[30_001] = (
        rows[30_000].0.clone(),
        rows[5].1.clone(),
        rows[30_001].2.clone(),
    );
    rows[30_002] = (
        rows[30_000].0.clone(),
        rows[5].1.clone(),
        rows[30_002].2.clone(),
    );
    let mut want: Vec<String> = [1, 100, 30_000]
        .iter()
        .map(|&i| rows[i].0.clone())
        .collect();
    want.sort();
    want.dedup();
    // bits throughout; hashes from the start; bits turning to hashes part way
    for (shards, bound, batch) in [
        (1, usize::MAX, 40_000),
        (2, usize::MAX, 7_000),
        (3, 0, 40_000),
        (2, 0, 999),
        (2, 15_000, 4_000),
        (1, 20_000, 40_000),
    ] {
        let mut t = Tally::with_shards(true, shards)
            .split_from(1)
            .ids_bound(bound);
        for chunk in rows.chunks(batch) {
            feed_owned(&mut t, chunk);
        }
        let got = t.finish();
        let mut named: Vec<String> = got
            .maybe_duplicated
            .iter()
            .map(|&r| String::from_utf8(got.runs[r as usize].clone()).unwrap())
            .collect();
        named.sort();
        assert_eq!(
            named, want,
            "{shards} shards, bound {bound}, batches of {batch}"
        );
    }
}

/// A column as codes: its values in order of first appearance (now and then one again under a
/// second code), after a missing entry; missing values as `NONE` or as that entry.
fn coded(col: &[Option<&str>], salt: usize) -> (Vec<u32>, Vec<Option<String>>) {
    let mut dict: Vec<Option<String>> = vec![None];
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut codes = Vec::with_capacity(col.len());
    for (i, v) in col.iter().enumerate() {
        match v {
            // a missing value, as a missing code or the missing entry
            None => codes.push(if (i + salt).is_multiple_of(2) {
                NONE
            } else {
                0
            }),
            Some(v) => {
                let at = last.get(v).copied();
                // now and then the same value again under a second code
                let c = match at {
                    Some(c) if !(i + salt).is_multiple_of(11) => c,
                    _ => {
                        dict.push(Some(v.to_string()));
                        last.insert(v, dict.len() - 1);
                        dict.len() - 1
                    }
                };
                codes.push(c as u32);
            }
        }
    }
    (codes, dict)
}

fn feed_coded(
    t: &mut Tally,
    rows: &[(String, String, [Option<String>; 4])],
    first_or_pred: bool,
) -> Result<Vec<usize>, TallyError> {
    let (run, sid, v) = owned(rows);
    let cs: Vec<(Vec<u32>, Vec<Option<String>>)> = [&run, &sid, &v[0], &v[1], &v[2], &v[3]]
        .iter()
        .enumerate()
        .map(|(j, c)| coded(c, j))
        .collect();
    let c = |j: usize| Coded {
        codes: &cs[j].0,
        dict: &cs[j].1,
    };
    t.add_coded(&CodedBatch {
        run: c(0),
        sample_id: c(1),
        values: [c(2), c(3), c(4), c(5)],
        first_or_pred,
    })
}

#[test]
fn codes_count_as_their_values() {
    let mut rows = many(30_000);
    rows[29_999] = (rows[7].0.clone(), rows[7].1.clone(), rows[29_999].2.clone());
    // long predictions no first label holds, where the first label is missing
    for (i, r) in rows.iter_mut().enumerate().filter(|(i, _)| i % 13 == 0) {
        r.2[2] = Some(format!("a prediction over twelve bytes {}", i % 3));
        r.2[3] = None;
    }
    for first_or_pred in [false, true] {
        // the plain count of the same rows, the prediction put where a first label is missing
        let plain: Vec<_> = rows
            .iter()
            .map(|(r, s, v)| {
                let mut v = v.clone();
                if first_or_pred && v[3].is_none() {
                    v[3] = v[2].clone();
                }
                (r.clone(), s.clone(), v)
            })
            .collect();
        let (firsts_one, one) = one_shard(&plain);
        assert!(!one.maybe_duplicated.is_empty());
        for (shards, batch) in [(1, 30_000), (2, 30_000), (2, 4_000), (3, 777)] {
            let mut t = Tally::with_shards(true, shards).split_from(1);
            let mut firsts = Vec::new();
            for (k, chunk) in rows.chunks(batch).enumerate() {
                let got = feed_coded(&mut t, chunk, first_or_pred).unwrap();
                firsts.extend(got.into_iter().map(|i| i + k * batch));
            }
            assert_eq!(firsts, firsts_one, "{shards} shards, batches of {batch}");
            assert_eq!(t.finish(), one, "{shards} shards, batches of {batch}");
        }
    }
}

#[test]
fn codes_past_the_dictionary_or_missing_runs_are_refused() {
    let dict: Vec<Option<&str>> = vec![Some("r"), None];
    let c = |codes: &'static [u32]| Coded { codes, dict: &dict };
    let batch = |run: &'static [u32], sid: &'static [u32], gt: &'static [u32]| CodedBatch {
        run: c(run),
        sample_id: c(sid),
        values: [c(gt), c(&[0, 0]), c(&[0, 0]), c(&[NONE, NONE])],
        first_or_pred: false,
    };
    let mut t = Tally::new(true);
    assert_eq!(
        t.add_coded(&batch(&[0, 2], &[0, 0], &[0, 0])),
        Err(TallyError::BadCode)
    );
    let mut t = Tally::new(true);
    assert_eq!(
        t.add_coded(&batch(&[0, 0], &[0, 0], &[0, 7])),
        Err(TallyError::BadCode)
    );
    let mut t = Tally::new(true);
    assert_eq!(
        t.add_coded(&batch(&[0, 1], &[0, 0], &[0, 0])),
        Err(TallyError::NoRun(1))
    );
    let mut t = Tally::new(true);
    assert_eq!(
        t.add_coded(&batch(&[0, NONE], &[0, 0], &[0, 0])),
        Err(TallyError::NoRun(1))
    );
    let mut t = Tally::new(true);
    assert_eq!(
        t.add_coded(&batch(&[0, 0], &[0, NONE], &[0, 0])),
        Err(TallyError::NoSample(1))
    );
    let mut t = Tally::new(true);
    assert_eq!(
        t.add_coded(&batch(&[0, 0], &[0], &[0, 0])),
        Err(TallyError::Ragged)
    );
    // without the check, no sample id is needed
    let mut t = Tally::new(false);
    assert_eq!(
        t.add_coded(&batch(&[0, 0], &[NONE, 1], &[0, 0])),
        Ok(vec![0])
    );
}
