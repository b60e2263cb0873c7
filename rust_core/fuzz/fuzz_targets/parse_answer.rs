//! `cargo +nightly fuzz run parse_answer`: any bytes as an answer; the parser must return,
//! quickly, a result that keeps its invariants.
#![no_main]

use _core::labels::{LabelSpace, Synonyms};
use _core::parse::{parse_answer, Status};
use libfuzzer_sys::fuzz_target;

const LABEL_SETS: &[&[&str]] = &[
    &["Surprise", "Contempt", "Happiness", "Anger", "Neutral", "Sadness", "Fear", "Disgust"],
    &["negative", "weakly negative", "neutral", "weakly positive", "positive"],
    &["positive", "negative"],
    &["happiness", "surprise", "disgust", "repression", "others"],
];

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let n_items = usize::from(head % 32);
    let labels = LABEL_SETS[usize::from(head / 64) % LABEL_SETS.len()];
    let synonyms = Synonyms::with_extra([("joyful", "happy"), ("calm", "neutral")]);
    let space = LabelSpace::new(labels, synonyms).expect("distinct labels");
    let p = parse_answer(&text, n_items, &space);
    assert_eq!(p.rankings.len(), p.invented.len());
    assert_eq!(p.rankings.len(), p.hedged.len());
    match p.status {
        Status::Ok => assert_eq!(p.rankings.len(), n_items),
        Status::CountMismatch => assert!(!p.rankings.is_empty() && p.rankings.len() != n_items),
        Status::Refused => assert!(p.rankings.is_empty() && p.refusal.is_some()),
        Status::Unparseable | Status::NoLabel => {
            assert!(p.rankings.is_empty() && p.refusal.is_none())
        }
    }
    for r in &p.rankings {
        for (i, label) in r.iter().enumerate() {
            assert!(labels.contains(&label.as_str()));
            assert!(!r[..i].contains(label));
        }
    }
});
