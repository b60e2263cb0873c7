//! Label folding: case, white space and synonyms folded so that a label the model wrote matches
//! the dataset's candidate spelling (PROTOCOL.md part 3, rule 2).

use std::collections::HashMap;

/// The synonym table of PROTOCOL.md part 3: each pair folds to one form. The first word of a
/// pair is the variant, the second the form it folds to. This table is the one place it lives;
/// Python reads it through `_core.default_synonyms()`.
pub const DEFAULT_SYNONYMS: &[(&str, &str)] = &[
    ("happy", "happiness"),
    ("sad", "sadness"),
    ("angry", "anger"),
    ("surprised", "surprise"),
    ("fearful", "fear"),
    ("disgusted", "disgust"),
    ("worried", "worry"),
    ("content", "contentment"),
    ("other", "others"),
];

/// Lower-cases, trims and collapses inner white space: the comparison key before synonyms.
pub fn normalize(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for word in label.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for ch in word.chars() {
            out.extend(ch.to_lowercase());
        }
    }
    out
}

/// A synonym table: normalized variant -> normalized canonical form.
#[derive(Clone, Debug)]
pub struct Synonyms {
    map: HashMap<String, String>,
}

impl Default for Synonyms {
    fn default() -> Self {
        Self::new(DEFAULT_SYNONYMS.iter().copied())
    }
}

impl Synonyms {
    /// Builds a table from (variant, canonical) pairs. Later pairs override earlier ones, so a
    /// user table given after the default extends or corrects it.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut map = HashMap::new();
        for (variant, canonical) in pairs {
            let v = normalize(variant);
            let c = normalize(canonical);
            if !v.is_empty() && !c.is_empty() && v != c {
                map.insert(v, c);
            }
        }
        Synonyms { map }
    }

    /// The default table extended by `extra` pairs.
    pub fn with_extra<'a>(extra: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::new(DEFAULT_SYNONYMS.iter().copied().chain(extra))
    }

    /// The folded key of a label: normalized, then followed through the table (at most a few
    /// steps, so a cycle in a user table cannot hang).
    pub fn fold(&self, label: &str) -> String {
        let mut key = normalize(label);
        for _ in 0..8 {
            match self.map.get(&key) {
                Some(next) if *next != key => key = next.clone(),
                _ => break,
            }
        }
        key
    }

    /// The pairs of the table, sorted, for display and for Python.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .map
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        v.sort();
        v
    }
}

/// The candidate labels of a dataset, looked up by folded key.
#[derive(Clone, Debug)]
pub struct LabelSpace {
    candidates: Vec<String>,
    index: HashMap<String, usize>,
    synonyms: Synonyms,
}

/// Two candidates of one dataset fold to the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmbiguousLabels(pub String, pub String);

impl std::fmt::Display for AmbiguousLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "candidate labels {:?} and {:?} fold to the same label",
            self.0, self.1
        )
    }
}

impl LabelSpace {
    pub fn new<S: AsRef<str>>(
        candidates: &[S],
        synonyms: Synonyms,
    ) -> Result<Self, AmbiguousLabels> {
        let mut index = HashMap::new();
        let mut kept = Vec::with_capacity(candidates.len());
        for (i, c) in candidates.iter().enumerate() {
            let key = synonyms.fold(c.as_ref());
            if let Some(&j) = index.get(&key) {
                let first: &String = &kept[j];
                return Err(AmbiguousLabels(first.clone(), c.as_ref().to_string()));
            }
            index.insert(key, i);
            kept.push(c.as_ref().to_string());
        }
        Ok(LabelSpace {
            candidates: kept,
            index,
            synonyms,
        })
    }

    pub fn candidates(&self) -> &[String] {
        &self.candidates
    }

    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// The index of the candidate a label folds to, if any.
    pub fn lookup(&self, label: &str) -> Option<usize> {
        self.index.get(&self.synonyms.fold(label)).copied()
    }

    /// The candidate spelling a label folds to, if any.
    pub fn canonical(&self, label: &str) -> Option<&str> {
        self.lookup(label).map(|i| self.candidates[i].as_str())
    }

    pub fn synonyms(&self) -> &Synonyms {
        &self.synonyms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_case_and_space() {
        assert_eq!(normalize("  Weakly   Positive "), "weakly positive");
        assert_eq!(normalize("HAPPY"), "happy");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn synonyms_fold_to_one_form() {
        let s = Synonyms::default();
        assert_eq!(s.fold("Happy"), "happiness");
        assert_eq!(s.fold("happiness"), "happiness");
        assert_eq!(s.fold("Others"), "others");
        assert_eq!(s.fold("other"), "others");
        assert_eq!(s.fold("Pain"), "pain");
    }

    #[test]
    fn label_space_matches_candidate_spelling() {
        let space = LabelSpace::new(&["Happy", "Sad", "Neutral"], Synonyms::default()).unwrap();
        assert_eq!(space.canonical("happiness"), Some("Happy"));
        assert_eq!(space.canonical("SADNESS"), Some("Sad"));
        assert_eq!(space.canonical(" neutral "), Some("Neutral"));
        assert_eq!(space.canonical("Pain"), None);
    }

    #[test]
    fn ambiguous_candidates_are_refused() {
        let err = LabelSpace::new(&["happy", "Happiness"], Synonyms::default()).unwrap_err();
        assert_eq!(err, AmbiguousLabels("happy".into(), "Happiness".into()));
    }

    #[test]
    fn user_synonyms_extend_and_cycles_terminate() {
        let s = Synonyms::with_extra([("joyful", "happy"), ("a", "b"), ("b", "a")]);
        assert_eq!(s.fold("Joyful"), "happiness");
        let _ = s.fold("a");
        let space = LabelSpace::new(&["happiness", "sadness"], s).unwrap();
        assert_eq!(space.lookup("joyful"), Some(0));
    }
}
