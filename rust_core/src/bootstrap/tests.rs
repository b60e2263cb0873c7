use super::*;
use crate::metrics::Confusion;

const KINDS: [MetricKind; 5] = [
    MetricKind::Acc,
    MetricKind::War,
    MetricKind::Uar,
    MetricKind::Waf,
    MetricKind::MacroF1,
];

/// A deterministic pseudo-random run: truth in 0..c, prediction right ~60% of the time, some
/// missing.
fn run(n: usize, c: i64, salt: u64) -> (Vec<i64>, Vec<i64>) {
    let mut x = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut t = Vec::with_capacity(n);
    let mut p = Vec::with_capacity(n);
    for _ in 0..n {
        let truth = (next() % c as u64) as i64;
        let r = next() % 100;
        t.push(truth);
        p.push(if r < 60 {
            truth
        } else if r < 65 {
            -1
        } else {
            (next() % c as u64) as i64
        });
    }
    (t, p)
}

fn settings(b: usize, method: CiMethod) -> Settings {
    Settings {
        n_resamples: b,
        method,
        ..Settings::default()
    }
}

#[test]
fn reduced_layouts_give_the_kernel_metric() {
    let (t, p) = run(500, 5, 3);
    let full = Confusion::from_codes(&t, &p, 5).unwrap().metrics();
    for kind in KINDS {
        let layout = Layout::new(kind, 5);
        let mut totals = vec![0u64; layout.width()];
        for (&a, &b) in t.iter().zip(&p) {
            totals[layout.feature(a as usize, b) as usize] += 1;
        }
        assert!(
            (layout.eval(&totals) - kind.of(&full)).abs() < 1e-12,
            "{kind:?}"
        );
    }
}

#[test]
fn accuracy_interval_is_near_the_normal_approximation() {
    let (t, p) = run(2000, 4, 1);
    let r = confidence_interval(
        &Job {
            truth: &t,
            pred: &p,
            n_classes: 4,
            kind: MetricKind::Acc,
            groups: None,
        },
        &settings(20_000, CiMethod::Percentile),
    )
    .unwrap();
    let se = (r.estimate * (1.0 - r.estimate) / 2000.0).sqrt();
    assert!((r.low - (r.estimate - 1.96 * se)).abs() < 0.003, "{r:?}");
    assert!((r.high - (r.estimate + 1.96 * se)).abs() < 0.003, "{r:?}");
    assert_eq!(r.n_profiles, 2);
    assert_eq!(r.sampler, Sampler::Counts);
}

#[test]
fn every_metric_and_method_brackets_its_estimate() {
    let (t, p) = run(800, 6, 2);
    for kind in KINDS {
        for method in [CiMethod::Percentile, CiMethod::Bca] {
            let job = Job {
                truth: &t,
                pred: &p,
                n_classes: 6,
                kind,
                groups: None,
            };
            let r = confidence_interval(&job, &settings(2000, method)).unwrap();
            assert!(
                r.low < r.estimate && r.estimate < r.high,
                "{kind:?} {method:?} {r:?}"
            );
            assert!(r.high - r.low < 0.15);
        }
    }
}

#[test]
fn singleton_groups_give_the_same_bits_as_no_groups() {
    let (t, p) = run(300, 3, 9);
    let g: Vec<i64> = (0..300).rev().collect();
    for kind in KINDS {
        let plain = Job {
            truth: &t,
            pred: &p,
            n_classes: 3,
            kind,
            groups: None,
        };
        let grouped = Job {
            groups: Some(&g),
            ..plain
        };
        let s = settings(500, CiMethod::Bca);
        assert_eq!(
            confidence_interval(&plain, &s).unwrap(),
            confidence_interval(&grouped, &s).unwrap()
        );
    }
}

#[test]
fn counts_give_the_same_bits_as_the_samples() {
    let (t, p) = run(400, 4, 21);
    let counts = Confusion::from_codes(&t, &p, 4).unwrap().counts().to_vec();
    for kind in KINDS {
        for method in [CiMethod::Percentile, CiMethod::Bca] {
            let s = settings(300, method);
            let job = Job {
                truth: &t,
                pred: &p,
                n_classes: 4,
                kind,
                groups: None,
            };
            let by_counts = CountsJob {
                counts: &counts,
                n_classes: 4,
                kind,
            };
            assert_eq!(
                confidence_interval(&job, &s).unwrap(),
                confidence_interval_from_counts(&by_counts, &s).unwrap(),
                "{kind:?} {method:?}"
            );
        }
    }
    let empty = vec![0u64; 20];
    let bad = CountsJob {
        counts: &empty,
        n_classes: 4,
        kind: MetricKind::Acc,
    };
    assert!(confidence_interval_from_counts(&bad, &settings(10, CiMethod::Percentile)).is_err());
    let short = CountsJob {
        counts: &counts[..5],
        ..bad
    };
    assert!(confidence_interval_from_counts(&short, &settings(10, CiMethod::Percentile)).is_err());
}

#[test]
fn clusters_widen_the_interval() {
    // 50 subjects of 20 samples each, all right or all wrong: the effective sample is 50.
    let t = vec![0i64; 1000];
    let p: Vec<i64> = (0..1000)
        .map(|i| if (i / 20) % 2 == 0 { 0 } else { 1 })
        .collect();
    let g: Vec<i64> = (0..1000).map(|i| i / 20).collect();
    let s = settings(4000, CiMethod::Percentile);
    let plain = Job {
        truth: &t,
        pred: &p,
        n_classes: 2,
        kind: MetricKind::Acc,
        groups: None,
    };
    let a = confidence_interval(&plain, &s).unwrap();
    let b = confidence_interval(
        &Job {
            groups: Some(&g),
            ..plain
        },
        &s,
    )
    .unwrap();
    assert_eq!(b.n_units, 50);
    let ratio = (b.high - b.low) / (a.high - a.low);
    assert!((ratio - 20f64.sqrt()).abs() < 0.6, "{ratio}");
}

#[test]
fn count_and_index_samplers_agree_on_intervals() {
    let (t, p) = run(600, 7, 4);
    for kind in [MetricKind::Acc, MetricKind::MacroF1] {
        let job = Job {
            truth: &t,
            pred: &p,
            n_classes: 7,
            kind,
            groups: None,
        };
        let mut s = settings(5000, CiMethod::Percentile);
        s.sampler = Sampler::Counts;
        let c = confidence_interval(&job, &s).unwrap();
        s.sampler = Sampler::Index;
        let i = confidence_interval(&job, &s).unwrap();
        assert!((c.low - i.low).abs() < 0.004 && (c.high - i.high).abs() < 0.004);
    }
}

#[test]
fn same_seed_same_interval_on_one_and_two_threads() {
    let (t, p) = run(2000, 8, 5);
    let job = Job {
        truth: &t,
        pred: &p,
        n_classes: 8,
        kind: MetricKind::Waf,
        groups: None,
    };
    let s = settings(1500, CiMethod::Bca);
    let on = |n: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(|| confidence_interval(&job, &s).unwrap())
    };
    let (one, two) = (on(1), on(2));
    assert_eq!(one.low.to_bits(), two.low.to_bits());
    assert_eq!(one.high.to_bits(), two.high.to_bits());
    let many = confidence_intervals(&[job, job], &s);
    assert_eq!(many[1].as_ref().unwrap(), &one);
}

#[test]
fn coverage_of_the_accuracy_interval() {
    // 1000 data sets of 400 samples with true accuracy 0.7: the 95% interval covers ~95%.
    let mut covered = 0;
    let sets = 1000;
    for k in 0..sets {
        let (t, _) = run(400, 2, 1000 + k);
        let mut x = (k + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
        let p: Vec<i64> = t
            .iter()
            .map(|&v| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x % 10 < 7 {
                    v
                } else {
                    1 - v
                }
            })
            .collect();
        let mut s = settings(1000, CiMethod::Percentile);
        s.seed = k;
        let r = confidence_interval(
            &Job {
                truth: &t,
                pred: &p,
                n_classes: 2,
                kind: MetricKind::Acc,
                groups: None,
            },
            &s,
        )
        .unwrap();
        if r.low <= 0.7 && 0.7 <= r.high {
            covered += 1;
        }
    }
    let rate = covered as f64 / sets as f64;
    assert!((0.925..=0.975).contains(&rate), "{rate}");
}

#[test]
fn paired_identical_runs_differ_by_nothing() {
    let (t, p) = run(400, 4, 6);
    let r = paired_difference(
        &PairedJob {
            truth: &t,
            pred_a: &p,
            pred_b: &p,
            n_classes: 4,
            kind: MetricKind::Acc,
            groups: None,
        },
        &settings(1000, CiMethod::Bca),
    )
    .unwrap();
    assert_eq!((r.diff, r.low, r.high, r.p_value), (0.0, 0.0, 0.0, 1.0));
    assert_eq!(r.mcnemar_p, Some(1.0));
}

#[test]
fn paired_difference_of_a_better_run() {
    let (t, a) = run(1000, 3, 7);
    // b fixes the first 100 wrong answers of a
    let mut fixed = 0;
    let b: Vec<i64> = t
        .iter()
        .zip(&a)
        .map(|(&tv, &av)| {
            if av != tv && fixed < 100 {
                fixed += 1;
                tv
            } else {
                av
            }
        })
        .collect();
    for kind in KINDS {
        let job = PairedJob {
            truth: &t,
            pred_a: &a,
            pred_b: &b,
            n_classes: 3,
            kind,
            groups: None,
        };
        let r = paired_difference(&job, &settings(2000, CiMethod::Percentile)).unwrap();
        assert!(
            r.diff > 0.0 && r.low > 0.0 && r.high > r.diff,
            "{kind:?} {r:?}"
        );
        assert!(r.p_value < 0.01);
        assert!((r.diff - (r.estimate_b - r.estimate_a)).abs() < 1e-15);
        assert_eq!((r.only_a, r.only_b), (0, 100));
        if kind == MetricKind::Acc {
            assert!((r.diff - 0.1).abs() < 1e-12);
            assert!(r.mcnemar_p.unwrap() < 1e-25);
            // (a right, b right), (a wrong, b right), (a wrong, b wrong)
            assert_eq!(r.n_profiles, 3);
        } else if kind == MetricKind::Waf {
            assert!(r.mcnemar_p.is_none());
        }
    }
}

#[test]
fn paired_resamples_keep_the_pairing() {
    // b = a shifted: independent resampling would give a wide interval; pairing gives a narrow
    // one around the same difference.
    let (t, a) = run(2000, 2, 8);
    let b: Vec<i64> = t
        .iter()
        .zip(&a)
        .enumerate()
        .map(|(i, (&tv, &av))| if i % 50 == 0 { tv } else { av })
        .collect();
    let job = PairedJob {
        truth: &t,
        pred_a: &a,
        pred_b: &b,
        n_classes: 2,
        kind: MetricKind::Acc,
        groups: None,
    };
    let r = paired_difference(&job, &settings(4000, CiMethod::Percentile)).unwrap();
    let d = diff_distribution(&job, &settings(4000, CiMethod::Percentile)).unwrap();
    assert!(d.iter().all(|&x| x >= 0.0));
    assert!(r.high - r.low < 0.02, "{r:?}");
}

#[test]
fn bad_input_is_named() {
    let s = Settings::default();
    let job = |t: &'static [i64], p: &'static [i64]| Job {
        truth: t,
        pred: p,
        n_classes: 2,
        kind: MetricKind::Acc,
        groups: None,
    };
    assert_eq!(
        confidence_interval(&job(&[], &[]), &s),
        Err(BootstrapError::Metric(MetricError::Empty))
    );
    assert!(matches!(
        confidence_interval(&job(&[0, 5], &[0, 0]), &s),
        Err(BootstrapError::Metric(MetricError::TruthOutOfRange {
            index: 1,
            ..
        }))
    ));
    assert!(matches!(
        confidence_interval(&job(&[0], &[0, 1]), &s),
        Err(BootstrapError::Metric(MetricError::LengthMismatch { .. }))
    ));
    let bad_conf = Settings {
        confidence: 1.0,
        ..s
    };
    assert_eq!(
        confidence_interval(&job(&[0], &[0]), &bad_conf),
        Err(BootstrapError::BadConfidence(1.0))
    );
    let none = Settings {
        n_resamples: 0,
        ..s
    };
    assert_eq!(
        confidence_interval(&job(&[0], &[0]), &none),
        Err(BootstrapError::NoResamples)
    );
    let g = [1i64];
    let grouped = Job {
        groups: Some(&g),
        ..job(&[0, 1], &[0, 1])
    };
    assert_eq!(
        confidence_interval(&grouped, &s),
        Err(BootstrapError::GroupsLength {
            groups: 1,
            samples: 2
        })
    );
}
