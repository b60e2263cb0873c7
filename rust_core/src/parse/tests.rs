use super::*;
use crate::labels::{LabelSpace, Synonyms};

fn space(labels: &[&str]) -> LabelSpace {
    LabelSpace::new(labels, Synonyms::default()).unwrap()
}

fn sentiment() -> LabelSpace {
    space(&["positive", "negative"])
}

fn faces() -> LabelSpace {
    space(&[
        "Surprise",
        "Contempt",
        "Happiness",
        "Anger",
        "Neutral",
        "Sadness",
        "Fear",
        "Disgust",
    ])
}

fn rk(p: &Parsed) -> Vec<Vec<&str>> {
    p.rankings
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect()
}

#[test]
fn paper_shape_run_together_with_preamble() {
    let text = "As an emotion recognition expert, I will analyze the images. \
        1. {'name': 'Image 1', 'result': ['negative', 'positive']}2. {'name': 'Image 2', \
        'result': ['positive', 'negative']}3. {'name': 'Image 3', 'result': ['negative', 'positive']}\n\
        Please note that the classification can be subjective.";
    let p = parse_answer(text, 3, &sentiment());
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![
            vec!["negative", "positive"],
            vec!["positive", "negative"],
            vec!["negative", "positive"]
        ]
    );
    assert_eq!(
        p.top1(),
        vec![Some("negative"), Some("positive"), Some("negative")]
    );
    assert_eq!(p.refusal, None);
}

#[test]
fn items_are_ordered_by_number_and_duplicates_dropped() {
    let text = "{\"name\": \"image-2\", \"result\": [\"happy\", \"sad\"]}\n\
        {\"name\": \"image-0\", \"result\": [\"anger\"]}\n\
        {\"name\": \"image-2\", \"result\": [\"fear\"]}\n\
        {\"name\": \"image-1\", \"result\": [\"surprised\", \"Pain\"]}";
    let p = parse_answer(text, 3, &faces());
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![
            vec!["Anger"],
            vec!["Surprise"],
            vec!["Happiness", "Sadness"]
        ]
    );
    assert_eq!(p.invented[1], vec!["Pain".to_string()]);
}

#[test]
fn named_lines_markdown_and_plain_lists() {
    let text = "Here are the results:\n\n**Image 1**: Happiness, Surprise, Neutral\n\
        **Image 2:** [Sadness, Fear]\n- Image 3 - 'anger', 'disgust'\n";
    let p = parse_answer(text, 3, &faces());
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![
            vec!["Happiness", "Surprise", "Neutral"],
            vec!["Sadness", "Fear"],
            vec!["Anger", "Disgust"]
        ]
    );
}

#[test]
fn vertical_lists_under_names() {
    let text =
        "### Video 1\n1. Happy\n2. Neutral (less likely)\n\n### Video 2\n1. Sad\n2. Fear\n\n\
        These rankings are subjective.";
    let p = parse_answer(text, 2, &faces());
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![vec!["Happiness", "Neutral"], vec!["Sadness", "Fear"]]
    );
}

#[test]
fn json_in_a_code_fence_and_nested_results() {
    let text = "```json\n{\"results\": [{\"name\": \"video1\", \"result\": [\"Fear\", \"Sad\"]}, \
        {\"name\": \"video2\", \"result\": \"happy, neutral\"}]}\n```";
    let p = parse_answer(text, 2, &faces());
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![vec!["Fear", "Sadness"], vec!["Happiness", "Neutral"]]
    );
}

#[test]
fn object_keyed_by_name() {
    let text = "{\"Image-text pair 2\": [\"neutral\", \"positive\"], \"Image-text pair 1\": [\"negative\"]}";
    let s = space(&["positive", "neutral", "negative"]);
    let p = parse_answer(text, 2, &s);
    assert_eq!(p.status, Status::Ok);
    assert_eq!(rk(&p), vec![vec!["negative"], vec!["neutral", "positive"]]);
}

#[test]
fn ordinal_names_and_records_without_names() {
    let text = "For the first image: {'result': ['positive', 'negative']}\n\
        For the second image: {'result': ['negative', 'positive']}";
    let p = parse_answer(text, 2, &sentiment());
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![vec!["positive", "negative"], vec!["negative", "positive"]]
    );
}

#[test]
fn bare_lists_without_names() {
    let text = "[['positive', 'negative'], ['negative', 'positive']]";
    let p = parse_answer(text, 2, &sentiment());
    assert_eq!(p.status, Status::Ok);
    let p = parse_answer(
        "1. negative, positive\n2. positive, negative",
        2,
        &sentiment(),
    );
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![vec!["negative", "positive"], vec!["positive", "negative"]]
    );
    let p = parse_answer("Happiness, Neutral, Surprise", 1, &faces());
    assert_eq!(rk(&p), vec![vec!["Happiness", "Neutral", "Surprise"]]);
}

#[test]
fn multiword_labels_are_matched_longest_first() {
    let s = space(&[
        "negative",
        "weakly negative",
        "neutral",
        "weakly positive",
        "positive",
    ]);
    let p = parse_answer(
        "{'name': 'video1', 'result': ['weakly positive', 'positive', 'Weakly  Negative']}",
        1,
        &s,
    );
    assert_eq!(
        rk(&p),
        vec![vec!["weakly positive", "positive", "weakly negative"]]
    );
}

#[test]
fn refusals_are_named_and_never_override_items() {
    let p = parse_answer("I'm sorry, I can't help with that.", 3, &sentiment());
    assert_eq!(p.status, Status::Refused);
    assert_eq!(p.refusal.as_deref(), Some("sorry-cannot"));
    let p = parse_answer("I’m unable to analyze these images.", 3, &sentiment());
    assert_eq!(p.status, Status::Refused);
    let text = "I'm sorry, I can't identify people, but here are the sentiments: \
        {'name': 'Image 1', 'result': ['positive', 'negative']}";
    let p = parse_answer(text, 1, &sentiment());
    assert_eq!(p.status, Status::Ok);
    assert_eq!(p.refusal, None);
}

#[test]
fn counts_and_unparseable() {
    let p = parse_answer(
        "{'name': 'Image 1', 'result': ['positive', 'negative']}",
        2,
        &sentiment(),
    );
    assert_eq!(p.status, Status::CountMismatch);
    assert_eq!(p.rankings.len(), 1);
    let p = parse_answer("The weather is nice today.", 2, &sentiment());
    assert_eq!(p.status, Status::NoLabel);
    assert!(p.rankings.is_empty());
    let p = parse_answer("{'name': 12, 'score': [3, 4]}", 1, &sentiment());
    assert_eq!(p.status, Status::Unparseable);
    assert_eq!(
        parse_answer("", 0, &sentiment()).status,
        Status::Unparseable
    );
}

#[test]
fn user_synonyms_map_free_form_answers() {
    let syn = Synonyms::with_extra([("joyful", "happiness"), ("anxious", "fear")]);
    let s = LabelSpace::new(&["Happiness", "Fear", "Neutral"], syn).unwrap();
    let p = parse_answer("Image 1: joyful, anxious\nImage 2: Anxious", 2, &s);
    assert_eq!(rk(&p), vec![vec!["Happiness", "Fear"], vec!["Fear"]]);
}

#[test]
fn total_on_awkward_inputs() {
    let s = faces();
    let long = "{[(".repeat(20_000) + &"Image 1: happy ".repeat(5_000);
    for t in [
        "",
        "{",
        "}",
        "[",
        "]]]]",
        "'name':",
        "result: [",
        "Image 999999999999999999999: happy",
        "\u{0}\u{FFFF}𝕳𝖆𝖕𝖕𝖞",
        "{'name': 'İmage 1', 'result': 'ſad'}",
        long.as_str(),
    ] {
        let p = parse_answer(t, 2, &s);
        assert_eq!(p.rankings.len(), p.invented.len());
    }
}

#[test]
fn batch_keeps_order() {
    let s = sentiment();
    let texts: Vec<String> = (0..500)
        .map(|i| {
            if i % 2 == 0 {
                "Image 1: positive".to_string()
            } else {
                "Image 1: negative\nImage 2: positive".to_string()
            }
        })
        .collect();
    let ns: Vec<usize> = (0..500).map(|i| 1 + i % 2).collect();
    let out = parse_answers(&texts, &ns, &s);
    for (i, p) in out.iter().enumerate() {
        assert_eq!(p.status, Status::Ok);
        assert_eq!(p.rankings.len(), 1 + i % 2);
    }
}

/// A small deterministic generator of awkward strings (xorshift over fragments).
fn fragments(seed: u64, n: usize, parts: &[&str]) -> Vec<String> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(parts[(x % parts.len() as u64) as usize]);
            }
            s
        })
        .collect()
}

#[test]
fn find_key_equals_its_regular_expression() {
    let parts = [
        "name", "Result", "results", "image_id", "id", ":", "=", "\"", "'", " ", "\t", "*", "`",
        "x", "_", "é", "1", "Emotions", "\n", "{",
    ];
    for keys in [RESULT_KEYS, NAME_KEYS] {
        let re = Regex::new(&format!(
            r#"(?i-u)\b(?:{})(?:["'`*]|[ \t]){{0,4}}[:=]"#,
            keys.join("|")
        ))
        .unwrap();
        for s in fragments(7, 20_000, &parts) {
            assert_eq!(find_key(&s, keys), re.find(&s).map(|m| m.end()), "{s:?}");
        }
    }
}

#[test]
fn split_seps_equals_split_on_separators() {
    let parts = [
        "a", ",", ";", "|", "/", ">", "\n", "\r", "，", "、", "；", "→", "é", "€", "\u{E2}", " ",
    ];
    for s in fragments(11, 20_000, &parts) {
        let want: Vec<&str> = s.split(is_sep).collect();
        let got: Vec<&str> = split_seps(&s).collect();
        assert_eq!(got, want, "{s:?}");
    }
}

#[test]
fn trim_equals_trim_matches() {
    let parts = [
        "a", " ", "1", "'", "\u{a0}", "’", "“", "é", "*", "\u{3000}", "(", "x y", "»", "\t",
    ];
    for s in fragments(13, 20_000, &parts) {
        assert_eq!(trim(&s), s.trim_matches(is_trim), "{s:?}");
    }
}

#[test]
fn name_numbers_from_digits_or_ordinals() {
    assert_eq!(name_number("Image 12"), Some(12));
    assert_eq!(name_number("video3_image2"), Some(3));
    assert_eq!(name_number("The  Second image"), Some(2));
    assert_eq!(name_number("twentieth video"), Some(20));
    assert_eq!(name_number("image 1234567890123"), Some(123_456_789));
}

/// (status, rankings, invented, hedged) of a one-item answer.
type One = (Status, Vec<Vec<String>>, Vec<Vec<String>>, Vec<bool>);

fn one(text: &str, labels: &LabelSpace) -> One {
    let p = parse_answer(text, 1, labels);
    (p.status, p.rankings, p.invented, p.hedged)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn a_label_then_its_explanation() {
    let joy = space(&["joy", "sadness", "surprise"]);
    let p = one(
        "joy, The person in the image is displaying a broad smile with visible teeth.",
        &joy,
    );
    assert_eq!(
        p,
        (Status::Ok, vec![s(&["joy"])], vec![vec![]], vec![false])
    );
    let p = one(
        "Surprise - the mouth is open and the eyebrows are raised.",
        &faces(),
    );
    assert_eq!(p.1, vec![s(&["Surprise"])]);
    // A list after the first label is a ranking, not an explanation.
    let p = parse_answer("Happiness, Surprise, Neutral", 1, &faces());
    assert_eq!(rk(&p), vec![vec!["Happiness", "Surprise", "Neutral"]]);
    // Several items, one a line, explanations naming other labels add no items.
    let p = parse_answer(
        "1. Happy - The person is smiling broadly, not sad at all\n2. Sad - tears are visible\n3. Neutral - no sign of fear or anger in the relaxed face",
        3,
        &faces(),
    );
    assert_eq!(p.status, Status::Ok);
    assert_eq!(
        rk(&p),
        vec![vec!["Happiness"], vec!["Sadness"], vec!["Neutral"]]
    );
    let p = parse_answer(
        "Image 1: Fear. The eyes are wide open; this is not happiness.\nImage 2: Happiness. A warm, genuine smile.",
        2,
        &faces(),
    );
    assert_eq!(rk(&p), vec![vec!["Fear"], vec!["Happiness"]]);
    assert_eq!(p.invented, vec![Vec::<String>::new(), vec![]]);
    // Four lines, three items: the count mismatch the recorder retries on stays visible.
    let p = parse_answer(
        "1. Happy - smiling, not sad\n2. Sad - tears\n3. Neutral - relaxed",
        4,
        &faces(),
    );
    assert_eq!(p.status, Status::CountMismatch);
    assert_eq!(p.rankings.len(), 3);
}

#[test]
fn a_label_closing_a_description() {
    let compound = space(&["Happily Surprised", "Disgustedly Surprised", "Sadly Angry"]);
    let p = one(
        "The child's brows are raised, which suggests a momentary surprise that quickly fades. Disgustedly Surprised.",
        &compound,
    );
    assert_eq!(p.1, vec![s(&["Disgustedly Surprised"])]);
    let p = one("The corners of the mouth are turned up. Happy!", &faces());
    assert_eq!(p.1, vec![s(&["Happiness"])]);
}

#[test]
fn the_main_emotion_and_hedges() {
    let p = one(
        "The primary emotion of the child in the image appears to be sadness or distress.",
        &faces(),
    );
    assert_eq!(
        p,
        (
            Status::Ok,
            vec![s(&["Sadness"])],
            vec![s(&["distress"])],
            vec![true]
        )
    );
    let p = one("The expression appears to be surprise or fear.", &faces());
    assert_eq!((p.1, p.3), (vec![s(&["Surprise", "Fear"])], vec![true]));
    let p = one("The dominant emotion displayed is happiness.", &faces());
    assert_eq!((p.1, p.3), (vec![s(&["Happiness"])], vec![false]));
    let p = one(
        "The primary emotion conveyed is one of contemplation.",
        &faces(),
    );
    assert_eq!((p.1, p.2), (vec![vec![]], vec![s(&["contemplation"])]));
    // Denied labels are not named.
    let p = one(
        "The person's expression is not happy but rather sad.",
        &faces(),
    );
    assert_eq!(p.1, vec![s(&["Sadness"])]);
}

#[test]
fn invented_labels_and_no_label() {
    assert_eq!(
        one("Sleepy", &faces()),
        (Status::Ok, vec![vec![]], vec![s(&["Sleepy"])], vec![false])
    );
    for t in [
        "The image shows a man standing in front of a brick building.",
        "Could you please provide more context about the image?",
    ] {
        let p = parse_answer(t, 1, &faces());
        assert_eq!((p.status, p.refusal), (Status::NoLabel, None), "{t}");
    }
}

#[test]
fn declining_to_identify_then_answering() {
    let p = one(
        "I'm sorry, but I can't identify people in images. However, the person appears to be happy.",
        &faces(),
    );
    assert_eq!(p.1, vec![s(&["Happiness"])]);
    for (t, id) in [
        ("I’m unable to help with that.", "cannot-assist"),
        (
            "I can’t determine the emotions of real people.",
            "cannot-assist",
        ),
        ("I won't be able to help with that one.", "not-able"),
        (
            "I cannot determine if they look happy or sad.",
            "cannot-assist",
        ),
    ] {
        let p = parse_answer(t, 1, &faces());
        assert_eq!(
            (p.status, p.refusal.as_deref()),
            (Status::Refused, Some(id)),
            "{t}"
        );
    }
}

/// Work done on one text, in counted steps (see `step`).
fn steps(text: &str, labels: &LabelSpace) -> u64 {
    STEPS.with(|s| s.set(0));
    for n in [1, 3, 20] {
        let p = parse_answer(text, n, labels);
        assert_eq!(p.rankings.len(), p.hedged.len());
    }
    STEPS.with(|s| s.get())
}

#[test]
fn work_is_linear_in_the_text_on_pathological_inputs() {
    let labels = faces();
    let units: &[&str] = &[
        "a",
        " ",
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ",",
        "\n",
        ".",
        ":",
        "|",
        "-",
        "'",
        "é",
        "’",
        "[[",
        "{{",
        "((",
        "[{(",
        "happy ",
        "happy, ",
        "not ",
        "looks ",
        "looks happy or ",
        "The primary emotion is ",
        "emotion emotion is ",
        "Image 1: happy. ",
        "Image 1: ",
        "I can't identify, but ",
        "I'm sorry ",
        "1. Happy - smiling\n",
        "| 1 | Happy | x |\n",
        "{'name': 'Image 1', 'result': [",
        "result: ",
        "Sleepy\n",
        "Answer: ",
        "sad or ",
    ];
    let mut worst = (0.0, "");
    for unit in units {
        let small = unit.repeat(20_000 / unit.len());
        let big = unit.repeat(40_000 / unit.len());
        let (a, b) = (steps(&small, &labels), steps(&big, &labels));
        let per_byte = b as f64 / big.len() as f64;
        if per_byte > worst.0 {
            worst = (per_byte, unit);
        }
        // At most a fixed number of steps a byte, and twice the text is about twice the work.
        assert!(
            per_byte <= 400.0,
            "{unit:?}: {b} steps for {} bytes",
            big.len()
        );
        assert!(
            b * 10 <= a * 23,
            "{unit:?}: {a} steps, then {b} for twice the text"
        );
    }
    println!("most steps a byte: {:.1} ({:?})", worst.0, worst.1);
    // 100 KB of one character.
    for c in ["a", " ", "{", "[", "(", ",", "\n", ".", ":", "|", "é"] {
        let text = c.repeat(100_000 / c.len());
        let b = steps(&text, &labels);
        assert!(b <= 400 * text.len() as u64, "{c:?}: {b} steps for 100 KB");
    }
    // Deeply nested brackets around labels.
    for (open, close) in [("[", "]"), ("{", "}"), ("(", ")")] {
        let nest = |d: usize| format!("{}Fear, happy{}", open.repeat(d), close.repeat(d));
        let (a, b) = (steps(&nest(20_000), &labels), steps(&nest(40_000), &labels));
        assert!(b * 10 <= a * 23, "{open}: {a} then {b}");
    }
}
