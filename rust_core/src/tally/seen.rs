//! Which sample ids each run of a shard holds, to find a run that holds one twice.
//!
//! Ids are known by a 64-bit fixed-seed hash of their bytes, so a repeat found here is a maybe
//! (two ids whose hashes meet), to be confirmed on the strings; a repeat is never missed. Sample
//! ids repeat across runs (every run of a dataset holds its test set), so each distinct hash gets
//! a code, and each run keeps the codes it holds as bits: a few hundred bytes a run, and a repeat
//! is seen the moment it is read. Past `MAX_IDS` distinct ids or `MAX_WORDS` words of bits (ids
//! that do not repeat, or runs spread over many), the shard turns to plain hashes: per row, its
//! run and the top 40 bits of the hash, sorted at the end (eight bytes a row).

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::FixedState;

use super::{map, Map};

/// Distinct sample ids a shard codes before it turns to hashes.
pub(crate) const MAX_IDS: usize = 1 << 20;
/// Words of bits (all runs) a shard keeps before it turns to hashes: 32 MiB.
pub(crate) const MAX_WORDS: usize = 1 << 22;

/// The codes of one run's samples, as bits from word `base` on.
#[derive(Default)]
pub(crate) struct Bits {
    base: usize,
    words: Vec<u64>,
}

impl Bits {
    /// Sets bit `c`. Returns whether it was set already, and how many words were added.
    #[inline]
    fn insert(&mut self, c: usize) -> (bool, usize) {
        let w = c / 64;
        let grown = if self.words.is_empty() {
            self.base = w;
            self.words.push(0);
            1
        } else if w < self.base {
            let more = self.base - w;
            self.words.splice(0..0, std::iter::repeat_n(0, more));
            self.base = w;
            more
        } else if w - self.base >= self.words.len() {
            let more = w - self.base + 1 - self.words.len();
            self.words.resize(w - self.base + 1, 0);
            more
        } else {
            0
        };
        let word = &mut self.words[w - self.base];
        let bit = 1u64 << (c % 64);
        let again = *word & bit != 0;
        *word |= bit;
        (again, grown)
    }

    /// The codes set, in order.
    pub(crate) fn codes(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(move |(i, &w)| {
            let at = (self.base + i) * 64;
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let b = w.trailing_zeros() as usize;
                    w &= w - 1;
                    at + b
                })
            })
        })
    }
}

/// Hashes of sample ids to codes, in order of first appearance.
pub(crate) struct Ids {
    codes: Map<u64, u32>,
    /// each code's hash
    pub(crate) hashes: Vec<u64>,
    /// the code given last: runs tend to list their samples in one order, so the next id is
    /// often the one that followed it before, or (runs interleaved row by row) the same one (a
    /// look-up saved)
    last: usize,
}

impl Ids {
    pub(crate) fn new() -> Self {
        Ids {
            codes: map(),
            hashes: Vec::new(),
            last: usize::MAX,
        }
    }

    #[inline]
    pub(crate) fn code(&mut self, h: u64) -> usize {
        let guess = self.last.wrapping_add(1);
        if self.hashes.get(guess) == Some(&h) {
            self.last = guess;
            return guess;
        }
        if self.hashes.get(self.last) == Some(&h) {
            return self.last;
        }
        let next = self.hashes.len();
        let c = *self.codes.entry(h).or_insert(next as u32) as usize;
        if c == next {
            self.hashes.push(h);
        }
        self.last = c;
        c
    }
}

pub(crate) enum Seen {
    /// Each id's hash by its code, and each run's codes.
    Bits {
        ids: Ids,
        runs: Vec<Bits>,
        words: usize,
    },
    /// Per row: run << 40 | the top 40 bits of the id's hash.
    Hashes(Vec<u64>),
}

/// The fixed-seed hash of a sample id's bytes (the same in every shard).
#[inline]
pub(crate) fn hash_id(hasher: &FixedState, id: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(id);
    h.finish()
}

impl Seen {
    pub(crate) fn new() -> Self {
        Seen::Bits {
            ids: Ids::new(),
            runs: Vec::new(),
            words: 0,
        }
    }

    /// Notes that run `r` holds the sample whose id hashes to `h`. Returns whether it may hold
    /// it already (with plain hashes, repeats are found at the end).
    #[inline]
    pub(crate) fn note(&mut self, r: u32, h: u64, max_ids: usize) -> bool {
        let c = self.code_of(h);
        self.note_coded(r, h, c, max_ids)
    }

    /// The code of the id hashing to `h` (given in order of first appearance), while ids are
    /// coded; a code stays that id's.
    #[inline]
    pub(crate) fn code_of(&mut self, h: u64) -> Option<usize> {
        match self {
            Seen::Bits { ids, .. } => Some(ids.code(h)),
            Seen::Hashes(_) => None,
        }
    }

    /// `note` of an id whose code (`code_of`) is known, while ids are coded.
    #[inline]
    pub(crate) fn note_coded(
        &mut self,
        r: u32,
        h: u64,
        code: Option<usize>,
        max_ids: usize,
    ) -> bool {
        let (again, full) = match self {
            Seen::Bits { ids, runs, words } => {
                let c = code.unwrap_or_else(|| ids.code(h));
                let r = r as usize;
                if r >= runs.len() {
                    runs.resize_with(r + 1, Bits::default);
                }
                let (again, grown) = runs[r].insert(c);
                *words += grown;
                (again, ids.hashes.len() > max_ids || *words > MAX_WORDS)
            }
            Seen::Hashes(v) => {
                v.push(hashed(r as usize, h));
                (false, false)
            }
        };
        if full {
            self.turn_to_hashes();
        }
        again
    }

    /// The ids and each run's bits, unless turned to hashes.
    pub(crate) fn bits(&self) -> Option<(&Ids, &[Bits])> {
        match self {
            Seen::Bits { ids, runs, .. } => Some((ids, runs)),
            Seen::Hashes(_) => None,
        }
    }

    /// Turns to plain hashes: one per sample each run holds.
    pub(crate) fn turn_to_hashes(&mut self) {
        if let Seen::Bits { ids, runs, .. } = self {
            let mut v = Vec::new();
            for (r, bits) in runs.iter().enumerate() {
                v.extend(bits.codes().map(|c| hashed(r, ids.hashes[c])));
            }
            *self = Seen::Hashes(v);
        }
    }
}

/// A row as a plain hash: its run, then the top 40 bits of its id's hash.
#[inline]
fn hashed(r: usize, h: u64) -> u64 {
    ((r as u64) << 40) | (h >> 24)
}

/// The codes of every shard in one space, by hash: each shard's code to the shared one, and
/// how many shared codes there are.
pub(crate) fn shared_codes<'a>(ids: impl Iterator<Item = &'a Ids>) -> (Vec<Vec<u32>>, usize) {
    let mut shared: Map<u64, u32> = map();
    let to = ids
        .map(|ids| {
            ids.hashes
                .iter()
                .map(|&h| {
                    let next = shared.len() as u32;
                    *shared.entry(h).or_insert(next)
                })
                .collect()
        })
        .collect();
    (to, shared.len())
}

/// Whether the parts of one run, each a shard's bits and its codes' shared codes, may hold
/// some id twice between them (each part on its own holds none twice). `seen` is a scratch of
/// zero words over the shared codes, left zero.
pub(crate) fn repeat_across(parts: &[(&Bits, &[u32])], seen: &mut [u64]) -> bool {
    let mut again = false;
    'parts: for (bits, to) in parts {
        for c in bits.codes() {
            let g = to[c] as usize;
            let (w, b) = (g / 64, 1u64 << (g % 64));
            if seen[w] & b != 0 {
                again = true;
                break 'parts;
            }
            seen[w] |= b;
        }
    }
    for (bits, to) in parts {
        for c in bits.codes() {
            seen[to[c] as usize / 64] = 0;
        }
    }
    again
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_grow_both_ways_and_find_a_repeat() {
        let mut b = Bits::default();
        assert_eq!(b.insert(700), (false, 1));
        assert_eq!(b.insert(3), (false, 10)); // words 0..=10
        assert_eq!(b.insert(1000), (false, 5)); // to word 15
        assert_eq!(b.insert(700), (true, 0));
        assert_eq!(b.insert(64), (false, 0));
        assert_eq!(b.codes().collect::<Vec<_>>(), vec![3, 64, 700, 1000]);
    }

    #[test]
    fn hashes_take_over_past_the_bound_and_keep_what_was_seen() {
        let h = FixedState::with_seed(1);
        let id = |b: &[u8]| hash_id(&h, b);
        let long = id(b"a sample id longer than twelve");
        let mut s = Seen::new();
        assert!(!s.note(0, long, 2));
        assert!(!s.note(1, long, 2));
        assert!(s.note(1, long, 2));
        assert!(!s.note(0, id(b"b"), 2));
        assert!(matches!(s, Seen::Bits { .. }));
        assert!(!s.note(0, id(b"c"), 2)); // a third id: past the bound
        let Seen::Hashes(v) = &s else {
            panic!("still bits")
        };
        let mut want = vec![
            hashed(0, long),
            hashed(0, id(b"b")),
            hashed(0, id(b"c")),
            hashed(1, long),
        ];
        let mut got = v.clone();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want);
        assert_ne!(id(b"b"), id(b"c"));
    }

    #[test]
    fn repeats_across_parts_are_found_by_their_hashes() {
        let (mut a, mut b) = (Ids::new(), Ids::new());
        let (mut ba, mut bb) = (Bits::default(), Bits::default());
        for h in [11, 12, 500] {
            ba.insert(a.code(h));
        }
        for h in [13, 14] {
            bb.insert(b.code(h));
        }
        let check = |a: &Ids, b: &Ids, ba: &Bits, bb: &Bits| {
            let (to, n) = shared_codes([a, b].into_iter());
            let mut seen = vec![0u64; n.div_ceil(64)];
            let got = repeat_across(&[(ba, &to[0]), (bb, &to[1])], &mut seen);
            assert!(seen.iter().all(|&w| w == 0), "the scratch is left zero");
            got
        };
        assert!(!check(&a, &b, &ba, &bb));
        bb.insert(b.code(12));
        assert!(check(&a, &b, &ba, &bb));
        assert_eq!(ba.codes().collect::<Vec<_>>(), vec![0, 1, 2]);
    }
}
