//! The answer parser: a model's free-text answer for a batch of `n_items` samples becomes one
//! ranking of candidate labels per item, the labels it invented, and a status.
//!
//! Three readings of the text are tried, each linear in its length:
//! - **records**: brace-delimited objects holding a result key (`{'name': 'Image 1', 'result':
//!   [...]}`, JSON objects or arrays of them, run together or one per line, in code fences);
//! - **named items**: item names with a number (`Image 1`, `image-1`, `video1`, `Image-text pair
//!   1`, `the second image`), each followed by its ranking (a list, a comma list, a quoted string,
//!   or a vertical list on the next lines);
//! - **bare lists**: bracketed lists or list-like lines holding candidate labels, in order;
//! - **loose**: a label opening each line (`joy, The person ...`, `1. Happy - smiling`, the first
//!   candidate cell of a table row), then one label read from prose (cues such as "the primary
//!   emotion ... appears to be X (or Y)", a short last sentence closing a description, the
//!   candidates named in a text about emotions), see `Parser::lead_lines` and
//!   `Parser::prose`.
//!
//! Readings are tried in this order: the first that finds exactly `n_items` items wins; one that
//! finds more ends the search (a count mismatch); otherwise the reading with the most items is
//! kept (a count mismatch). The bare lists are read only when records and named items found
//! nothing, the loose readings only when those found fewer than `n_items`. Where prose names
//! more than one label, they are kept in the order named (the first is the prediction) and the
//! item is flagged `hedged`. An answer with no items and no refusal wording is `NoLabel` when
//! it is prose (a description, a request for more context), `Unparseable` otherwise.
//! Items are keyed by the number in their name when every item has one (ordered by it, the first
//! of duplicates kept), otherwise kept in order of appearance. An answer with no items is
//! `Refused` when it holds a refusal wording (see [`REFUSALS`]); a refusal wording never
//! overrides items that are present, and an answer that declines to identify the person and
//! then names an emotion is read after the refusal's clause.
//!
//! The pure-Python reference parser (`tests/oracle/reference.py`) implements the same
//! rules; the two are checked against each other.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::LazyLock;

use rayon::prelude::*;
use regex::Regex;

use crate::labels::{normalize, LabelSpace};

/// How an answer parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Exactly `n_items` items were found.
    Ok,
    /// No items, and a refusal wording.
    Refused,
    /// Items were found, but not `n_items` of them.
    CountMismatch,
    /// No items, no refusal wording, and not a sentence in sight.
    Unparseable,
    /// No items and no refusal wording, but prose: a description naming no emotion, or a
    /// request for more context. Like a refusal, it gives no prediction.
    NoLabel,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Refused => "refused",
            Status::CountMismatch => "count_mismatch",
            Status::Unparseable => "unparseable",
            Status::NoLabel => "no_label",
        }
    }
}

/// One parsed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub status: Status,
    /// One ranking per item found, in candidate spelling, most likely first, without repeats.
    pub rankings: Vec<Vec<String>>,
    /// Per item, the labels outside the candidates, as the model wrote them.
    pub invented: Vec<Vec<String>>,
    /// The id of the refusal wording that matched (only when no item was found).
    pub refusal: Option<String>,
    /// Per item, whether the answer named more than one label in prose (the first is kept).
    pub hedged: Vec<bool>,
}

impl Parsed {
    /// The first label of each ranking (the prediction of PROTOCOL.md part 3, rule 3).
    pub fn top1(&self) -> Vec<Option<&str>> {
        self.rankings
            .iter()
            .map(|r| r.first().map(String::as_str))
            .collect()
    }
}

/// A parsed answer in compact form: candidate indices instead of label strings (what the batch
/// binding keeps; [`Parsed`] is its spelled-out form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codes {
    pub status: Status,
    /// Candidate indices of all items, one item after another.
    pub codes: Vec<u32>,
    /// Item `i` is `codes[starts[i]..starts[i + 1]]`; one more entry than items.
    pub starts: Vec<u32>,
    /// (item, label) of the labels outside the candidates, in order.
    pub invented: Vec<(u32, String)>,
    /// The id of the refusal wording that matched (only when no item was found).
    pub refusal: Option<&'static str>,
    /// Per item, whether the answer named more than one label in prose (see `Parser::prose`).
    pub hedged: Vec<bool>,
}

impl Codes {
    fn empty(status: Status, refusal: Option<&'static str>) -> Self {
        Codes {
            status,
            codes: Vec::new(),
            starts: vec![0],
            invented: Vec::new(),
            refusal,
            hedged: Vec::new(),
        }
    }

    /// The number of items found.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The candidate indices of item `i`.
    pub fn item(&self, i: usize) -> &[u32] {
        &self.codes[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// The rankings spelled with `candidates` (those of the label space parsed against).
    pub fn rankings(&self, candidates: &[String]) -> Vec<Vec<String>> {
        (0..self.len())
            .map(|i| {
                self.item(i)
                    .iter()
                    .map(|&c| candidates[c as usize].clone())
                    .collect()
            })
            .collect()
    }

    /// The invented labels of each item.
    pub fn invented_lists(&self) -> Vec<Vec<String>> {
        let mut out = vec![Vec::new(); self.len()];
        for (i, label) in &self.invented {
            out[*i as usize].push(label.clone());
        }
        out
    }

    /// The spelled-out form.
    pub fn to_parsed(&self, space: &LabelSpace) -> Parsed {
        Parsed {
            status: self.status,
            rankings: self.rankings(space.candidates()),
            invented: self.invented_lists(),
            refusal: self.refusal.map(str::to_string),
            hedged: self.hedged.clone(),
        }
    }
}

/// Refusal wordings, checked in this order; the id of the first that matches is reported.
/// `\b`, `\s`, `\w` and `\W` are read in their ASCII sense (see [`ascii_classes`]), the
/// same in the Python reference.
pub const REFUSALS: &[(&str, &str)] = &[
    (
        "sorry-cannot",
        r"(?i)\b(?:i['’]m|i am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry\b[^.\n]{0,80}?\b(?:can['’]?t|cannot|can not|unable|not able|won['’]t|must decline)",
    ),
    (
        "cannot-assist",
        r"(?i)\bi\s*(?:can['’]?t|cannot|can not|won['’]t|am unable to|['’]m unable to|am not able to|['’]m not able to)\s+(?:help|assist|provide|fulfil|fulfill|comply|process|analy[sz]e|identify|recogni[sz]e|determine|do that|complete|support|view|see|perform|make|interpret|evaluate|classify|accommodate|tell|infer|judge|discern|speculate|guess|read|assess)\b",
    ),
    (
        "unable",
        r"(?i)\b(?:i['’]m|i am)\s+(?:unable|not able)\s+to\b",
    ),
    (
        "not-able",
        r"(?i)\bi\s+(?:won['’]t|will not|wouldn['’]t|would not)\s+be\s+able\s+to\b|\b(?:i['’]m|i am)\s+not\s+in\s+a\s+position\s+to\b|\bi\s+(?:don['’]t|do not)\s+(?:identify|analy[sz]e|recogni[sz]e|make\s+assumptions)\b|\bit\s+(?:is|['’]s)\s+not\s+(?:possible|appropriate)\s+for\s+me\s+to\b",
    ),
    ("apologize", r"(?i)\bi\s+apologi[sz]e\b"),
    (
        "decline",
        r"(?i)\bi\s+(?:must|have to|['’]ll have to|will have to|need to)\s+decline\b",
    ),
    (
        "not-comfortable",
        r"(?i)\b(?:i['’]m|i am)\s+not\s+comfortable\b|\bi\s+(?:don['’]t|do not)\s+feel\s+comfortable\b",
    ),
    (
        "policy",
        r"(?i)\b(?:content|usage|safety)\s+polic(?:y|ies)\b|\bviolat\w*\s+(?:the\s+|our\s+|openai['’]s\s+)?(?:content\s+|usage\s+)?polic",
    ),
    ("as-an-ai", r"(?i)\bas an ai\b"),
    ("sorry", r"(?i)^\W*sorry\b"),
    ("zh", r"抱歉|对不起|无法(?:帮助|提供|识别|处理|完成|分析)"),
];

/// Prose readings (`Parser::lead_lines`, `Parser::prose`): words that are never a label
/// there (ASCII, compared in any case).
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "absolutely",
    "after",
    "alas",
    "all",
    "alright",
    "also",
    "although",
    "am",
    "ambiguous",
    "an",
    "and",
    "answer",
    "any",
    "apologies",
    "apology",
    "apparent",
    "appear",
    "appears",
    "are",
    "around",
    "as",
    "at",
    "based",
    "be",
    "because",
    "been",
    "before",
    "behind",
    "being",
    "between",
    "both",
    "boy",
    "but",
    "by",
    "can",
    "category",
    "certainly",
    "challenging",
    "cheers",
    "child",
    "clear",
    "confidence",
    "could",
    "dear",
    "description",
    "did",
    "difficult",
    "display",
    "displays",
    "do",
    "does",
    "due",
    "during",
    "each",
    "either",
    "emotion",
    "emotions",
    "evident",
    "explanation",
    "expression",
    "expressions",
    "face",
    "feeling",
    "feelings",
    "for",
    "from",
    "girl",
    "great",
    "had",
    "hard",
    "has",
    "have",
    "he",
    "hello",
    "helps",
    "her",
    "here",
    "hey",
    "hi",
    "him",
    "his",
    "hmm",
    "hope",
    "how",
    "however",
    "i",
    "i'm",
    "id",
    "if",
    "image",
    "images",
    "impossible",
    "in",
    "into",
    "is",
    "it",
    "it's",
    "its",
    "it’s",
    "i’m",
    "just",
    "label",
    "labels",
    "like",
    "likely",
    "look",
    "looks",
    "luck",
    "man",
    "may",
    "maybe",
    "me",
    "might",
    "mood",
    "must",
    "my",
    "near",
    "neither",
    "no",
    "nor",
    "not",
    "note",
    "number",
    "obvious",
    "of",
    "ok",
    "okay",
    "on",
    "only",
    "oops",
    "or",
    "our",
    "over",
    "overall",
    "people",
    "perhaps",
    "person",
    "photo",
    "picture",
    "please",
    "possibly",
    "prediction",
    "probably",
    "rank",
    "reason",
    "reasoning",
    "regards",
    "regrettably",
    "result",
    "results",
    "sadly",
    "score",
    "see",
    "seem",
    "seems",
    "seen",
    "sentiment",
    "shall",
    "she",
    "should",
    "show",
    "shows",
    "since",
    "so",
    "some",
    "sorry",
    "subjective",
    "sure",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "to",
    "toward",
    "towards",
    "uncertain",
    "unclear",
    "under",
    "unfortunately",
    "unknown",
    "upon",
    "very",
    "visible",
    "was",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "woman",
    "would",
    "yes",
    "yet",
    "you",
    "your",
];

/// Words dropped before an invented label in a prose phrase ("a sense of calm" -> "calm").
const FILLER_WORDS: &[&str] = &[
    "a",
    "an",
    "be",
    "being",
    "bit",
    "clear",
    "expression",
    "feeling",
    "feelings",
    "general",
    "generally",
    "hint",
    "in",
    "kind",
    "likely",
    "little",
    "look",
    "mainly",
    "mild",
    "mildly",
    "mix",
    "mostly",
    "of",
    "one",
    "overall",
    "perhaps",
    "possibly",
    "predominantly",
    "primarily",
    "probably",
    "quite",
    "rather",
    "sense",
    "slight",
    "slightly",
    "some",
    "somewhat",
    "sort",
    "state",
    "strong",
    "that",
    "the",
    "to",
    "very",
];

/// A label right after one of these words (within three words) is not named but denied.
const NEGATIONS: &[&str] = &[
    "absence",
    "aren't",
    "arent",
    "aren’t",
    "barely",
    "didn't",
    "didn’t",
    "doesn't",
    "doesnt",
    "doesn’t",
    "don't",
    "dont",
    "don’t",
    "hardly",
    "instead",
    "isn't",
    "isnt",
    "isn’t",
    "lack",
    "lacking",
    "lacks",
    "neither",
    "never",
    "no",
    "nor",
    "not",
    "than",
    "without",
];

/// Prefixes of a line that name what follows ("Answer: joy").
const KEY_PREFIXES: &[&str] = &[
    "answer",
    "category",
    "classification",
    "detected emotion",
    "dominant emotion",
    "emotion",
    "emotions",
    "expression",
    "facial expression",
    "feeling",
    "final answer",
    "label",
    "main emotion",
    "mood",
    "output",
    "predicted emotion",
    "predicted label",
    "prediction",
    "primary emotion",
    "response",
    "result",
    "sentiment",
];

/// Prose cues, tried in this order; the label follows the cue.
pub const CUES: &[(&str, &str)] = &[
    (
        "main",
        r"(?i)\b(?:primary|dominant|main|predominant|prevailing|overall|most\s+(?:likely|prominent|evident|apparent|noticeable)|strongest|principal|key)\s+(?:facial\s+)?(?:emotions?|expressions?|emotional\s+states?|feelings?|sentiments?|moods?)\b[^.\n]{0,120}?\b(?:is|are|appears\s+to\s+be|seems\s+to\s+be|would\s+be|could\s+be|might\s+be|looks\s+like|appears|seems)\b(?:\s+(?:likely|most\s+likely|probably|possibly|that\s+of|one\s+of))?",
    ),
    (
        "emotion",
        r"(?i)\b(?:emotions?|expressions?|emotional\s+states?|feelings?|sentiments?|moods?)\b[^.\n]{0,80}?\b(?:is|appears\s+to\s+be|seems\s+to\s+be|would\s+be|can\s+be\s+(?:described|classified|identified|labell?ed|interpreted|categori[sz]ed)\s+as|is\s+best\s+described\s+as|looks\s+like|suggests|suggesting|indicates|indicating|conveys|conveying|of)\b",
    ),
    (
        "seems",
        r"(?i)\b(?:appears?|appearing|seems?|seeming|looks?|looking|feels?|feeling)\s+(?:to\s+be\s+)?(?:(?:very|quite|rather|somewhat|slightly|mildly|mostly|visibly|genuinely|clearly|deeply|overall)\s+)?",
    ),
    (
        "shows",
        r"(?i)\b(?:displays?|displaying|shows?|showing|expresses|expressing|exhibits?|exhibiting|full\s+of|conveys?|conveying|reflects?|reflecting|suggests?|suggesting|indicates?|indicating)\s+",
    ),
    (
        "state",
        r"(?i)\b(?:is|are|was|were|feels?|felt|becomes?|became)\s+(?:(?:clearly|very|quite|so|rather|somewhat|slightly|visibly|obviously|extremely|really|genuinely|full\s+of|filled\s+with|overcome\s+with|overwhelmed\s+by)\s+)*",
    ),
];

/// Cues after which the label must come first (`is happy`, not `is a surprise party`).
const TIGHT_CUES: &[&str] = &["state"];

/// Where a refusal's clause ends and an answer may follow ("I can't identify people, but ...").
const BREAK: &str = r"(?i)\n|[.,;:!?]\s|\bbut\b|\bhowever\b|\balthough\b|\bthat said\b";
/// Words that make a sentence about an emotion (for labels merely mentioned in prose).
const CONTEXT: &str =
    r"(?i)\b(?:emotion|expression|feel|mood|face|facial|look|appear|seem|smil|frown|sentiment)";
/// The first this many characters after a cue are read for its label.
const PHRASE_CHARS: usize = 80;
/// Before a cue, this many characters are read for a negation.
const NEG_CHARS: usize = 24;

fn regex(p: &str) -> Regex {
    Regex::new(&ascii_classes(p)).expect("pattern")
}

static CUE_RES: LazyLock<Vec<(&'static str, Regex)>> =
    LazyLock::new(|| CUES.iter().map(|(id, p)| (*id, regex(p))).collect());
static BREAK_RE: LazyLock<Regex> = LazyLock::new(|| regex(BREAK));
static CONTEXT_RE: LazyLock<Regex> = LazyLock::new(|| regex(CONTEXT));
static OR_RE: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\s+or\s+|\s+and/or\s+|\s*/\s*"));
static WORD_SETS: LazyLock<[HashSet<&'static str>; 4]> = LazyLock::new(|| {
    [STOP_WORDS, FILLER_WORDS, NEGATIONS, KEY_PREFIXES].map(|l| l.iter().copied().collect())
});
const STOP: usize = 0;
const FILLER: usize = 1;
const NEG: usize = 2;
const KEY: usize = 3;

/// Whether `w`, ASCII letters lower-cased, is in word set `set` ([`STOP`], [`FILLER`], [`NEG`]
/// or [`KEY`]).
fn in_set(w: &str, set: usize) -> bool {
    let sets = &*WORD_SETS;
    if w.bytes().any(|b| b.is_ascii_uppercase()) {
        sets[set].contains(w.to_ascii_lowercase().as_str())
    } else {
        sets[set].contains(w)
    }
}

fn is_prose_sep(c: char) -> bool {
    c.is_whitespace() || ",;|/>()[]{}\"“”，、；→".contains(c)
}

/// The words of prose: split at white space and list punctuation, trimmed.
fn prose_words(text: &str) -> Vec<&str> {
    step(text.len());
    text.split(is_prose_sep)
        .map(trim)
        .filter(|w| !w.is_empty())
        .collect()
}

/// `s` without a leading `Answer:`-like key (see [`KEY_PREFIXES`]).
fn strip_key(s: &str) -> &str {
    step(s.len());
    if let Some(k) = s.find(':') {
        let head =
            s[..k].trim_matches(|c| matches!(c, ' ' | '\t' | '*' | '_' | '#' | '`' | '"' | '\''));
        if in_set(head, KEY) {
            return s[k + 1..].trim_start_matches(is_trim);
        }
    }
    s
}

/// (the words before the first separator, the rest from the separator on).
fn lead_split(s: &str) -> (&str, &str) {
    step(s.len());
    let mut prev: Option<char> = None;
    for (k, c) in s.char_indices() {
        if ",:.!?;(\n|—–".contains(c) || (c == '-' && prev.is_some_and(char::is_whitespace)) {
            return (&s[..k], &s[k..]);
        }
        prev = Some(c);
    }
    (s, "")
}

/// What follows the label opening `line` (see [`Parser::lead`]).
fn lead_rest(line: &str) -> &str {
    lead_split(strip_key(line.trim_start_matches(is_trim))).1
}

/// A list item: `-`, `*` or `•`, or one to three digits and `.` or `)`.
fn is_marker(line: &str) -> bool {
    let s = line.trim_start();
    if s.starts_with(['-', '*', '•']) {
        return true;
    }
    let d = s.bytes().take_while(u8::is_ascii_digit).count();
    (1..=3).contains(&d) && matches!(s.as_bytes().get(d), Some(b'.' | b')'))
}

/// Three words of letters in a row: a sentence (an answer without labels in it).
fn has_prose(text: &str) -> bool {
    step(text.len());
    let mut run = 0;
    for w in text.split_whitespace() {
        let w = w.trim_matches(|c| ".,;:!?\"'()*[]{}".contains(c));
        if !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphabetic() || matches!(c, '\'' | '’' | '-'))
        {
            run += 1;
            if run >= 3 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn negated(words: &[&str], k: usize) -> bool {
    words[k.saturating_sub(3)..k].iter().any(|w| in_set(w, NEG))
}

/// The label phrase after a cue: to the end of the clause (a comma ends it unless `or`
/// follows), read over at most [`PHRASE_CHARS`] characters.
fn phrase(rest: &str) -> &str {
    let end = rest
        .char_indices()
        .nth(PHRASE_CHARS)
        .map_or(rest.len(), |(i, _)| i);
    let rest = &rest[..end];
    for (k, c) in rest.char_indices() {
        if ".;!?\n:".contains(c) {
            return &rest[..k];
        }
        if c == ',' {
            let after: String = rest[k + 1..].trim_start().chars().take(3).collect();
            if !after.eq_ignore_ascii_case("or ") {
                return &rest[..k];
            }
        }
    }
    rest
}

/// An invented label at the start of a prose phrase: filler words dropped, then up to
/// [`INVENTED_WORDS`] words before a stop word.
fn invented_from(words: &[&str]) -> Option<String> {
    let k = words.iter().take_while(|w| in_set(w, FILLER)).count();
    let rest = &words[k..];
    let mut taken: Vec<&str> = Vec::new();
    for w in rest {
        if in_set(w, STOP) || taken.len() == INVENTED_WORDS {
            break;
        }
        taken.push(w);
    }
    if taken.is_empty() || (taken.len() < rest.len() && taken.len() == INVENTED_WORDS) {
        return None;
    }
    let label = taken.join(" ");
    is_label_like(&label).then_some(label)
}

const ORDINALS: &[&str] = &[
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
];

/// Names an item can have in an answer.
const ITEM_WORDS: &str = r"image[ \t_-]*text[ \t_-]*pairs?|images?|imgs?|videos?|pictures?|photos?|pairs?|samples?|items?|clips?|tweets?";

/// Keys that hold the ranking in a record (whole words, any case, see [`find_key`]).
pub const RESULT_KEYS: &[&str] = &[
    "result",
    "results",
    "ranking",
    "rankings",
    "ranked",
    "emotion",
    "emotions",
    "label",
    "labels",
    "category",
    "categories",
    "prediction",
    "predictions",
    "sentiment",
    "sentiments",
    "expression",
    "expressions",
    "answer",
    "output",
    "classification",
];

/// Keys that hold the item's name in a record.
pub const NAME_KEYS: &[&str] = &[
    "name", "id", "image", "video", "item", "sample", "file", "filename", "image_id", "video_id",
];

#[cfg(test)]
thread_local! {
    /// Work done by the parser on this thread, in bytes handled (see [`step`]).
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts `n` bytes of work (tests only): the scans whose cost grows with the text (keys,
/// tokens cleaned, words split, labels looked up), so that tests can show the total is linear
/// in the length of the text.
#[inline]
fn step(n: usize) {
    #[cfg(test)]
    STEPS.with(|s| s.set(s.get() + n as u64 + 1));
    #[cfg(not(test))]
    let _ = n;
}

/// The end of the first `key:` or `key=` in `text`: a whole word of `keys` in any case, then at
/// most four quotes, back-quotes, asterisks, spaces or tabs, then the colon or equals sign (the
/// regular expression `(?i-u)\b(?:keys)(?:["'`*]|[ \t]){0,4}[:=]`, searched by hand: it is on
/// the hot path).
pub fn find_key(text: &str, keys: &[&str]) -> Option<usize> {
    find_keys(text, &[keys])[0]
}

/// [`find_key`] for several key lists in one pass: the first match of each list.
fn find_keys<const N: usize>(text: &str, lists: &[&[&str]; N]) -> [Option<usize>; N] {
    step(text.len());
    let b = text.as_bytes();
    let mut found = [None; N];
    let mut left = N;
    for (i, &c) in b.iter().enumerate() {
        if c != b':' && c != b'=' {
            continue;
        }
        let mut j = i;
        while j > 0 && i - j <= 4 && matches!(b[j - 1], b'"' | b'\'' | b'`' | b'*' | b' ' | b'\t') {
            j -= 1;
        }
        if i - j > 4 {
            continue;
        }
        let end = j;
        while j > 0 && (b[j - 1].is_ascii_alphanumeric() || b[j - 1] == b'_') {
            j -= 1;
        }
        let word = &text[j..end];
        if word.is_empty() {
            continue;
        }
        for (slot, keys) in found.iter_mut().zip(lists) {
            if slot.is_none() && keys.iter().any(|k| k.eq_ignore_ascii_case(word)) {
                *slot = Some(i + 1);
                left -= 1;
            }
        }
        if left == 0 {
            break;
        }
    }
    found
}

/// The item-name pattern (shared with the Python reference).
pub fn name_pattern() -> String {
    format!(
        r"(?i-u)\b(?:(?:the[ \t]+)?({ord})[ \t]+(?:{words})\b|(?:{words})[ \t_-]*(?:#|no\.?)?[ \t]*([0-9]{{1,9}})(?:[ \t_-]*(?:image|frame)[ \t_-]*[0-9]{{1,9}})?(?:\.(?:jpe?g|png|gif|bmp|webp|mp4|avi|mov))?)",
        ord = ORDINALS.join("|"),
        words = ITEM_WORDS,
    )
}

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(&name_pattern()).expect("name"));
static REFUSAL_RES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    REFUSALS
        .iter()
        .map(|(id, p)| (*id, Regex::new(&ascii_classes(p)).expect("refusal")))
        .collect()
});

/// A pattern with `\b`, `\s`, `\w` and `\W` made ASCII (Unicode case folding stays), so
/// that Rust's and Python's regular expressions read it alike.
pub fn ascii_classes(pattern: &str) -> String {
    pattern
        .replace(r"\b", r"(?-u:\b)")
        .replace(r"\s", r"[\t\n\x0B\x0C\r ]")
        .replace(r"\W", r"[^0-9A-Za-z_]")
        .replace(r"\w", r"[0-9A-Za-z_]")
}

/// Words that are never reported as invented labels.
const NOT_LABELS: &[&str] = &[
    "name", "result", "results", "image", "images", "video", "videos", "json", "python", "none",
    "null", "n/a", "na", "etc", "and", "or", "the", "is", "ranking", "label", "labels",
];

/// Most words in a token that is searched for candidate labels inside.
const SCAN_WORDS: usize = 4;
/// Longest run of words tried as one label while searching inside a token.
const NGRAM: usize = 3;
/// Most words of a token kept as an invented label.
const INVENTED_WORDS: usize = 3;

/// The separators between labels (`split_seps` is the fast form used by the parser).
#[cfg(test)]
fn is_sep(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | '|' | '/' | '>' | '\n' | '\r' | '，' | '、' | '；' | '→'
    )
}

/// Per byte: 1 for an ASCII separator, 3 for the lead byte of a three-byte one, else 0.
const SEP_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let one = b",;|/>\n\r";
    let mut k = 0;
    while k < one.len() {
        t[one[k] as usize] = 1;
        k += 1;
    }
    t[0xE2] = 3;
    t[0xE3] = 3;
    t[0xEF] = 3;
    t
};

/// A cheap first test of string equality: the length and the first eight bytes.
fn fingerprint(s: &str) -> u64 {
    let mut head = [0u8; 8];
    let n = s.len().min(8);
    head[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_le_bytes(head) ^ (s.len() as u64).rotate_left(56)
}

/// `text.split(is_sep)`, scanning bytes (the separators are ASCII or three-byte UTF-8).
fn split_seps(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut start = 0usize;
    let mut i = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while i < b.len() {
            let width = match SEP_BYTES[b[i] as usize] {
                0 => 0,
                1 => 1,
                _ if i + 3 <= b.len() && is_sep_3(&b[i..i + 3]) => 3,
                _ => 0,
            };
            if width > 0 {
                let tok = &text[start..i];
                i += width;
                start = i;
                return Some(tok);
            }
            i += 1;
        }
        done = true;
        Some(&text[start..])
    })
}

fn is_sep_3(b: &[u8]) -> bool {
    matches!(
        b,
        [0xEF, 0xBC, 0x8C] | [0xE3, 0x80, 0x81] | [0xEF, 0xBC, 0x9B] | [0xE2, 0x86, 0x92]
    )
}

fn is_trim(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_digit()
        || matches!(
            c,
            '\'' | '"'
                | '`'
                | '*'
                | '['
                | ']'
                | '{'
                | '}'
                | '<'
                | '>'
                | '.'
                | ':'
                | ';'
                | '!'
                | '?'
                | '-'
                | '_'
                | '#'
                | '='
                | '~'
                | '%'
                | '+'
                | '‘'
                | '’'
                | '“'
                | '”'
                | '«'
                | '»'
        )
}

/// ASCII bytes that `is_trim` accepts.
const TRIM_ASCII: [bool; 128] = {
    let mut t = [false; 128];
    let chars = b"\t\n\x0b\x0c\r 0123456789'\"`*[]{}<>.:;!?-_#=~%+";
    let mut k = 0;
    while k < chars.len() {
        t[chars[k] as usize] = true;
        k += 1;
    }
    t
};

/// `s.trim_matches(is_trim)`, byte by byte where the text is ASCII (the hot path).
fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let (mut i, mut j) = (0, b.len());
    while i < j {
        if b[i] < 0x80 {
            if !TRIM_ASCII[b[i] as usize] {
                break;
            }
            i += 1;
        } else {
            match s[i..j].chars().next() {
                Some(c) if is_trim(c) => i += c.len_utf8(),
                _ => break,
            }
        }
    }
    while j > i {
        if b[j - 1] < 0x80 {
            if !TRIM_ASCII[b[j - 1] as usize] {
                break;
            }
            j -= 1;
        } else {
            match s[i..j].chars().next_back() {
                Some(c) if is_trim(c) => j -= c.len_utf8(),
                _ => break,
            }
        }
    }
    &s[i..j]
}

fn is_quote(c: char) -> bool {
    matches!(c, '\'' | '"' | '`' | '‘' | '’' | '“' | '”')
}

/// A token with parenthetical remarks removed and punctuation, numbering and scores trimmed.
fn clean(tok: &str) -> std::borrow::Cow<'_, str> {
    step(tok.len());
    if !tok.bytes().any(|b| b == b'(' || b == b')') {
        return std::borrow::Cow::Borrowed(trim(tok));
    }
    let mut out = String::with_capacity(tok.len());
    let mut depth = 0usize;
    for c in tok.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    std::borrow::Cow::Owned(trim(&out).to_string())
}

/// Non-ASCII characters that are punctuation, never part of a label.
const NOT_LETTERS: &str = "，、；→。：！？（）「」『』【】《》“”‘«»…·";

/// Letters (any non-ASCII character but punctuation), white space, hyphens and apostrophes.
fn is_label_like(s: &str) -> bool {
    s.chars().all(|c| {
        if c.is_ascii() {
            c.is_ascii_alphabetic() || c.is_whitespace() || matches!(c, '-' | '\'')
        } else {
            !NOT_LETTERS.contains(c)
        }
    })
}

/// Labels found for one item, in order, without repeats.
#[derive(Default, Debug, Clone)]
struct Ranking {
    cands: Vec<usize>,
    invented: Vec<String>,
    /// Made on the first invented label (most rankings have none).
    invented_keys: Option<HashSet<String>>,
    /// More than one label named in prose.
    hedged: bool,
}

impl Ranking {
    fn push_cand(&mut self, i: usize) {
        if !self.cands.contains(&i) {
            self.cands.push(i);
        }
    }

    fn push_invented(&mut self, label: String) {
        let key = normalize(&label);
        if NOT_LABELS.contains(&key.as_str()) {
            return;
        }
        if self
            .invented_keys
            .get_or_insert_with(HashSet::new)
            .insert(key)
        {
            self.invented.push(label);
        }
    }

    fn is_empty(&self) -> bool {
        self.cands.is_empty() && self.invented.is_empty()
    }

    fn merge(&mut self, other: Ranking) {
        for i in other.cands {
            self.push_cand(i);
        }
        for l in other.invented {
            self.push_invented(l);
        }
        self.hedged |= other.hedged;
    }
}

/// What one token contributed.
#[derive(PartialEq, Eq)]
enum Token {
    Empty,
    Label,
    Prose,
}

/// Most distinct tokens remembered that fold to a candidate, and that do not.
const MEMO_HITS: usize = 64;
const MEMO_MISSES: usize = 192;

/// Remembered lookups: (fingerprint, token, candidate index).
type Memo = Vec<(u64, String, Option<usize>)>;

/// Parses answers against one label space. A parser may be reused for many answers (a batch
/// keeps one per worker thread), so the folding of recurring tokens is remembered across them.
struct Parser<'a> {
    space: &'a LabelSpace,
    hits: RefCell<Memo>,
    misses: RefCell<Memo>,
}

impl<'a> Parser<'a> {
    fn new(space: &'a LabelSpace) -> Self {
        Parser {
            space,
            hits: RefCell::new(Vec::new()),
            misses: RefCell::new(Vec::new()),
        }
    }

    /// `LabelSpace::lookup`, remembered for recurring tokens.
    fn lookup(&self, label: &str) -> Option<usize> {
        step(label.len());
        let print = fingerprint(label);
        for memo in [&self.hits, &self.misses] {
            let memo = memo.borrow();
            if let Some((_, _, hit)) = memo.iter().find(|(f, k, _)| *f == print && k == label) {
                return *hit;
            }
        }
        let out = self.space.lookup(label);
        let (memo, cap) = match out {
            Some(_) => (&self.hits, MEMO_HITS),
            None => (&self.misses, MEMO_MISSES),
        };
        let mut memo = memo.borrow_mut();
        if memo.len() < cap {
            memo.push((print, label.to_string(), out));
        }
        out
    }

    fn classify(&self, tok: &str, out: &mut Ranking) -> Token {
        let c = clean(tok);
        if c.is_empty() {
            return Token::Empty;
        }
        if let Some(i) = self.lookup(&c) {
            out.push_cand(i);
            return Token::Label;
        }
        let words: Vec<&str> = c
            .split_whitespace()
            .map(trim)
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Token::Empty;
        }
        if words.len() <= SCAN_WORDS && self.scan(&words, out) {
            return Token::Label;
        }
        if words.len() <= INVENTED_WORDS && is_label_like(&c) {
            if words.iter().any(|w| in_set(w, STOP)) {
                return Token::Prose;
            }
            out.push_invented(words.join(" "));
            return Token::Label;
        }
        Token::Prose
    }

    /// Candidate labels mentioned in a run of words, longest match first.
    fn scan(&self, words: &[&str], out: &mut Ranking) -> bool {
        let mut found = false;
        let mut i = 0;
        while i < words.len() {
            let mut step = 1;
            for n in (1..=NGRAM.min(words.len() - i)).rev() {
                let gram = words[i..i + n].join(" ");
                if let Some(j) = self.lookup(&gram) {
                    out.push_cand(j);
                    found = true;
                    step = n;
                    break;
                }
            }
            i += step;
        }
        found
    }

    /// Candidate labels mentioned anywhere in a line of prose, in order.
    fn mentions(&self, line: &str) -> Ranking {
        let mut out = Ranking::default();
        for tok in split_seps(line) {
            let c = clean(tok);
            let words: Vec<&str> = c
                .split_whitespace()
                .map(trim)
                .filter(|w| !w.is_empty())
                .collect();
            self.scan(&words, &mut out);
        }
        out
    }

    fn ranking(&self, text: &str) -> Ranking {
        self.ranking_prose(text).0
    }

    /// The ranking of `text`, and whether a token of it was prose.
    fn ranking_prose(&self, text: &str) -> (Ranking, bool) {
        let mut r = Ranking::default();
        let mut prose = false;
        for tok in split_seps(text) {
            if self.classify(tok, &mut r) == Token::Prose {
                prose = true;
            }
        }
        (r, prose)
    }

    /// The ranking of a name-and-ranking chunk: the value of a result key if there is one,
    /// otherwise the first lines holding labels (one line, or a vertical list); labels mentioned
    /// in a sentence count on the name's own line.
    fn chunk_ranking(&self, chunk: &str) -> Ranking {
        if let Some(end) = find_key(chunk, RESULT_KEYS) {
            return self.ranking(value_after(&chunk[end..]));
        }
        let mut out = Ranking::default();
        let mut collecting = false;
        for (k, line) in chunk.split('\n').enumerate() {
            if is_fence(line) {
                if collecting {
                    break;
                }
                continue;
            }
            let (mut r, prose) = self.ranking_prose(line);
            if k == 0 && (prose || (line.contains(". ") && has_prose(lead_rest(line)))) {
                // A label then its explanation (`Image 1: Happy. The person smiles ...`).
                if let Some(lead) = self.lead(line, true) {
                    r = lead;
                }
            }
            if k == 0 && r.is_empty() {
                // The rest of the name's own line, written as a sentence.
                r = self.mentions(line);
            }
            if r.is_empty() {
                if collecting {
                    break;
                }
            } else {
                out.merge(r);
                collecting = true;
            }
        }
        out
    }

    /// Reading 1: brace-delimited records with a result key.
    fn records(&self, text: &str) -> Vec<Item> {
        let mut items = Vec::new();
        let mut last_end = 0usize;
        let mut open: Option<usize> = None;
        let mut spans: Vec<(usize, usize, bool)> = Vec::new();
        for (i, b) in text.bytes().enumerate() {
            match b {
                b'{' => {
                    if let Some(s) = open {
                        spans.push((s, i, false));
                    }
                    open = Some(i);
                }
                b'}' => {
                    if let Some(s) = open.take() {
                        spans.push((s, i + 1, true));
                    }
                }
                _ => {}
            }
        }
        if let Some(s) = open {
            spans.push((s, text.len(), false));
        }
        for (start, end, closed) in spans {
            let body = &text[start..end];
            let [result_key, name_key] = find_keys(body, &[RESULT_KEYS, NAME_KEYS]);
            let Some(value) = result_key else {
                continue;
            };
            let ranking = self.ranking(value_after(&body[value..]));
            if !closed && ranking.is_empty() {
                continue;
            }
            let key = match name_key {
                Some(k) => first_number(value_after(&body[k..])),
                None => None,
            }
            .or_else(|| {
                NAME_RE
                    .find_iter(&text[last_end..start])
                    .last()
                    .and_then(|m| name_number(m.as_str()))
            });
            items.push(Item { key, ranking });
            last_end = end;
        }
        items
    }

    /// Reading 2: numbered item names, each followed by its ranking.
    fn named(&self, text: &str) -> Vec<Item> {
        let marks: Vec<(usize, usize, Option<u64>)> = NAME_RE
            .find_iter(text)
            .map(|m| (m.start(), m.end(), name_number(m.as_str())))
            .collect();
        let mut items = Vec::with_capacity(marks.len());
        for (k, &(_, end, key)) in marks.iter().enumerate() {
            let stop = marks.get(k + 1).map_or(text.len(), |m| m.0);
            items.push(Item {
                key,
                ranking: self.chunk_ranking(&text[end..stop]),
            });
        }
        items
    }

    /// Reading 3a: innermost bracketed lists holding a candidate label.
    fn bracketed(&self, text: &str) -> Vec<Item> {
        let mut items = Vec::new();
        let mut open: Option<usize> = None;
        for (i, b) in text.bytes().enumerate() {
            match b {
                b'[' => open = Some(i + 1),
                b']' => {
                    if let Some(s) = open.take() {
                        let r = self.ranking(&text[s..i]);
                        if !r.cands.is_empty() {
                            items.push(Item {
                                key: None,
                                ranking: r,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        items
    }

    /// Reading 3b: list-like lines holding a candidate label and no prose (after the line's last
    /// colon or sentence end).
    fn lines(&self, text: &str) -> Vec<Item> {
        let mut items = Vec::new();
        for line in text.split('\n') {
            if is_fence(line) {
                continue;
            }
            let cut = [
                line.rfind(':').map(|i| i + 1),
                line.rfind(". ").map(|i| i + 2),
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0);
            let tail = &line[cut..];
            let mut r = Ranking::default();
            let mut prose = false;
            for tok in split_seps(tail) {
                if self.classify(tok, &mut r) == Token::Prose {
                    prose = true;
                    break;
                }
            }
            if !prose && !r.cands.is_empty() {
                items.push(Item {
                    key: None,
                    ranking: r,
                });
            }
        }
        items
    }

    /// [`Parser::scan`], leaving out labels denied by a negation just before them.
    fn scan_neg(&self, words: &[&str], out: &mut Ranking) -> bool {
        let mut found = false;
        let mut i = 0;
        while i < words.len() {
            let mut step = 1;
            for n in (1..=NGRAM.min(words.len() - i)).rev() {
                let gram = words[i..i + n].join(" ");
                if let Some(j) = self.lookup(&gram) {
                    if !negated(words, i) {
                        out.push_cand(j);
                        found = true;
                    }
                    step = n;
                    break;
                }
            }
            i += step;
        }
        found
    }

    /// The label opening a line, before a comma, colon, dash or sentence end (`joy, The
    /// person ...`); a comma must be followed by prose, not by more labels. Outside the
    /// candidates, only where `allow_invented`, label-like and without stop words.
    fn lead(&self, line: &str, allow_invented: bool) -> Option<Ranking> {
        let (head, rest) = lead_split(strip_key(line.trim_start_matches(is_trim)));
        let c = clean(head);
        if c.is_empty() {
            return None;
        }
        let words: Vec<&str> = c
            .split_whitespace()
            .map(trim)
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() || words.len() > INVENTED_WORDS {
            return None;
        }
        if let Some(after) = rest.strip_prefix(',') {
            let next = split_seps(after).next().unwrap_or("");
            if self.classify(next, &mut Ranking::default()) != Token::Prose {
                return None;
            }
        }
        let mut r = Ranking::default();
        if let Some(i) = self.lookup(&c) {
            r.push_cand(i);
            return Some(r);
        }
        if allow_invented && is_label_like(&c) && !words.iter().any(|w| in_set(w, STOP)) {
            r.push_invented(words.join(" "));
            return (!r.invented.is_empty()).then_some(r);
        }
        None
    }

    /// The first cell of a table row that is a candidate label.
    fn table_row(&self, line: &str) -> Option<Ranking> {
        for cell in line.split('|') {
            let c = clean(cell);
            if !c.is_empty() {
                if let Some(i) = self.lookup(&c) {
                    let mut r = Ranking::default();
                    r.push_cand(i);
                    return Some(r);
                }
            }
        }
        None
    }

    /// Reading 4: a label opening each line (or the first candidate cell of a table row); a
    /// label outside the candidates only on the first line or a list item, and never in an
    /// answer holding a refusal wording.
    fn lead_lines(&self, text: &str) -> Vec<Item> {
        let mut items = Vec::new();
        let mut first = true;
        let refused = refusal(text).is_some();
        for line in text.split('\n') {
            if is_fence(line) || line.trim().is_empty() {
                continue;
            }
            let r = if line.trim_start().starts_with('|') {
                self.table_row(line)
            } else {
                self.lead(line, !refused && (first || is_marker(line)))
            };
            first = false;
            if let Some(ranking) = r {
                items.push(Item { key: None, ranking });
            }
        }
        items
    }

    /// The labels of the phrase after a cue: candidates named (not denied) in order; an
    /// alternative after `or` (or, for the main-emotion cue, the first phrase) outside the
    /// candidates as an invented label. Hedged when more than one label is named. After a tight
    /// cue, the phrase must open with a candidate.
    fn cue_phrase(&self, rest: &str, invented_ok: bool, tight: bool) -> Option<Ranking> {
        let mut r = Ranking::default();
        for (j, part) in OR_RE.split(phrase(rest)).enumerate() {
            let words = prose_words(part);
            if j == 0 && words.first().is_some_and(|w| in_set(w, NEG)) {
                return None;
            }
            if j == 0 && tight && !self.opens_with_label(&words) {
                return None;
            }
            if self.scan_neg(&words, &mut r) {
                continue;
            }
            if invented_ok || j > 0 {
                if let Some(label) = invented_from(&words) {
                    r.push_invented(label);
                }
            }
        }
        if r.is_empty() {
            return None;
        }
        r.hedged = r.cands.len() + r.invented.len() > 1;
        Some(r)
    }

    fn opens_with_label(&self, words: &[&str]) -> bool {
        (1..=NGRAM.min(words.len()))
            .rev()
            .any(|n| self.lookup(&words[..n].join(" ")).is_some())
    }

    /// A label closing a description: a last sentence of at most [`INVENTED_WORDS`] words.
    fn closing(&self, text: &str) -> Option<Ranking> {
        let s = text.trim_end_matches(is_trim);
        let cut = s.rfind(['.', '!', '?', '\n']).map_or(0, |i| i + 1);
        let tail = strip_key(s[cut..].trim_start_matches(is_trim));
        let c = clean(tail);
        let words = prose_words(&c);
        if words.is_empty() || words.len() > INVENTED_WORDS {
            return None;
        }
        if words.iter().any(|w| in_set(w, STOP)) {
            return None;
        }
        let mut r = Ranking::default();
        if let Some(i) = self.lookup(&c) {
            r.push_cand(i);
        } else if !self.scan_neg(&words, &mut r) && is_label_like(&c) {
            r.push_invented(words.join(" "));
        }
        (!r.is_empty()).then_some(r)
    }

    /// Reading 5: one label read from prose. After a refusal wording, only what follows the
    /// refusal's clause is read. Tried in order: the cues ([`CUES`]), a label closing the text,
    /// and (without a refusal, in a text about emotions) the candidates mentioned, the first
    /// kept as the prediction. Hedged when more than one label is named.
    fn prose(&self, text: &str) -> Vec<Item> {
        let mut text = text;
        let mut refused = false;
        if let Some(m) = REFUSAL_RES.iter().find_map(|(_, re)| re.find(text)) {
            let tail = &text[m.end()..];
            let Some(b) = BREAK_RE.find(tail) else {
                return Vec::new();
            };
            text = &tail[b.end()..];
            refused = true;
        }
        let one = |ranking| vec![Item { key: None, ranking }];
        for (id, re) in CUE_RES.iter() {
            for m in re.find_iter(text) {
                let pre = &text[..m.start()];
                let from = pre
                    .char_indices()
                    .rev()
                    .nth(NEG_CHARS - 1)
                    .map_or(0, |(i, _)| i);
                let before = prose_words(&pre[from..]);
                if negated(&before, before.len()) {
                    continue;
                }
                if let Some(r) =
                    self.cue_phrase(&text[m.end()..], *id == "main", TIGHT_CUES.contains(id))
                {
                    return one(r);
                }
            }
        }
        if let Some(r) = self.closing(text) {
            return one(r);
        }
        if !refused && CONTEXT_RE.is_match(text) {
            let mut r = Ranking::default();
            self.scan_neg(&prose_words(text), &mut r);
            if !r.cands.is_empty() {
                r.hedged = r.cands.len() > 1;
                return one(r);
            }
        }
        Vec::new()
    }

    fn parse(&self, text: &str, n_items: usize) -> Codes {
        // Three tiers: the structured readings; the bare ones, tried only when the structured
        // ones found nothing; the loose ones (lead labels, prose), which win only with exactly
        // `n_items` items, with too many (a count mismatch), or when nothing else was found.
        let mut best: Option<Vec<Item>> = None;
        for tier in [[0, 1], [2, 3]] {
            best = None;
            for reading in tier {
                let items = match reading {
                    0 => order(self.records(text)),
                    1 => order(self.named(text)),
                    2 => self.bracketed(text),
                    _ => self.lines(text),
                };
                if items.len() == n_items && n_items > 0 {
                    return self.finish(items, Status::Ok);
                }
                if items.len() > n_items {
                    // A more structured reading found too many: looser ones cannot do better.
                    return self.finish(items, Status::CountMismatch);
                }
                if items.len() > best.as_ref().map_or(0, Vec::len) {
                    best = Some(items);
                }
            }
            if tier[0] == 0 {
                if let Some(items) = best.take() {
                    return self.finish(items, Status::CountMismatch);
                }
            }
        }
        let mut loose: Option<Vec<Item>> = None;
        for reading in [4, 5] {
            let items = if reading == 4 {
                self.lead_lines(text)
            } else {
                self.prose(text)
            };
            if items.len() == n_items && n_items > 0 {
                return self.finish(items, Status::Ok);
            }
            if items.len() > n_items {
                return self.finish(items, Status::CountMismatch);
            }
            if items.len() > loose.as_ref().map_or(0, Vec::len) {
                loose = Some(items);
            }
        }
        if let Some(items) = best.or(loose) {
            return self.finish(items, Status::CountMismatch);
        }
        match refusal(text) {
            Some(id) => Codes::empty(Status::Refused, Some(id)),
            None if has_prose(text) => Codes::empty(Status::NoLabel, None),
            None => Codes::empty(Status::Unparseable, None),
        }
    }

    fn finish(&self, items: Vec<Item>, status: Status) -> Codes {
        let mut out = Codes::empty(status, None);
        out.starts.reserve(items.len());
        out.hedged.reserve(items.len());
        for (k, it) in items.into_iter().enumerate() {
            out.codes.extend(it.ranking.cands.iter().map(|&c| c as u32));
            out.starts.push(out.codes.len() as u32);
            out.hedged.push(it.ranking.hedged);
            out.invented
                .extend(it.ranking.invented.into_iter().map(|l| (k as u32, l)));
        }
        out
    }
}

#[derive(Debug)]
struct Item {
    key: Option<u64>,
    ranking: Ranking,
}

/// Items keyed by number when every item has one: first of duplicates kept, sorted by number.
fn order(items: Vec<Item>) -> Vec<Item> {
    if items.is_empty() || items.iter().any(|i| i.key.is_none()) {
        return items;
    }
    let mut kept = items;
    kept.sort_by_key(|i| i.key); // stable: the first of duplicates stays first
    kept.dedup_by_key(|i| i.key);
    kept
}

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

/// The value after a key's colon: a bracketed list, a quoted string, or the text to the end of
/// the line or object.
fn value_after(s: &str) -> &str {
    step(s.len());
    let s = s.trim_start();
    let mut chars = s.chars();
    match chars.next() {
        Some('[') => {
            let rest = &s[1..];
            match rest.find(']') {
                Some(e) => &rest[..e],
                None => rest,
            }
        }
        Some(q) if is_quote(q) => {
            let rest = &s[q.len_utf8()..];
            let close = match q {
                '‘' => '’',
                '“' => '”',
                _ => q,
            };
            match rest.find(close) {
                Some(e) => &rest[..e],
                None => rest,
            }
        }
        Some(_) => match s.find(['}', '\n']) {
            Some(e) => &s[..e],
            None => s,
        },
        None => s,
    }
}

/// The first run of ASCII digits in `s` (at most nine of them) as a number.
fn first_number(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let start = b.iter().position(u8::is_ascii_digit)?;
    Some(
        b[start..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .take(9)
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

/// The number of an item name matched by [`name_pattern`]: its digits, or its ordinal word.
fn name_number(name: &str) -> Option<u64> {
    if let Some(n) = first_number(name) {
        return Some(n);
    }
    let lower = name.to_ascii_lowercase();
    let rest = lower.strip_prefix("the").unwrap_or(&lower).trim_start();
    let word = rest.split([' ', '\t']).next().unwrap_or("");
    ORDINALS
        .iter()
        .position(|w| *w == word)
        .map(|p| p as u64 + 1)
}

/// The id of the first refusal wording found in `text`, if any.
pub fn refusal(text: &str) -> Option<&'static str> {
    REFUSAL_RES
        .iter()
        .find(|(_, re)| re.is_match(text))
        .map(|(id, _)| *id)
}

/// Parses one answer holding `n_items` items against the candidates of `space`.
pub fn parse_answer(text: &str, n_items: usize, space: &LabelSpace) -> Parsed {
    parse_answer_codes(text, n_items, space).to_parsed(space)
}

/// [`parse_answer`] in compact form.
pub fn parse_answer_codes(text: &str, n_items: usize, space: &LabelSpace) -> Codes {
    Parser::new(space).parse(text, n_items)
}

/// Parses many answers in parallel; `n_items[i]` belongs to `texts[i]`. Results keep the input
/// order.
pub fn parse_answers<S: AsRef<str> + Sync>(
    texts: &[S],
    n_items: &[usize],
    space: &LabelSpace,
) -> Vec<Parsed> {
    parse_answers_codes(texts, n_items, space)
        .into_par_iter()
        .map(|c| c.to_parsed(space))
        .collect()
}

/// [`parse_answers`] in compact form. Each worker thread reuses one parser, so the folding of
/// recurring tokens is remembered across the answers it handles.
pub fn parse_answers_codes<S: AsRef<str> + Sync>(
    texts: &[S],
    n_items: &[usize],
    space: &LabelSpace,
) -> Vec<Codes> {
    texts
        .par_iter()
        .zip(n_items.par_iter())
        .with_min_len(64)
        .map_init(|| Parser::new(space), |p, (t, &n)| p.parse(t.as_ref(), n))
        .collect()
}

#[cfg(test)]
mod tests;
