"""The answer parser in pure Python: the same rules as `rust_core/src/parse.rs`.

It is the test oracle of the Rust parser (both are driven with generated answers and must agree)
and the peer of `benchmarks/bench_parse.py`. It depends on nothing but the standard library; the
default synonym table is passed in (`default_synonyms` reads it from the one place it lives).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: Characters Rust's `char::is_whitespace` accepts (the Unicode White_Space property).
_WS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
_WS_SPLIT = re.compile(f"[{re.escape(_WS)}]+")
_TRIM = _WS + "0123456789'\"`*[]{}<>.:;!?-_#=~%+‘’“”«»"
_SEP = re.compile(r"[,;|/>\n\r，、；→]")
_QUOTES = {"'": "'", '"': '"', "`": "`", "‘": "’", "’": "’", "“": "”", "”": "”"}
#: Non-ASCII characters that are punctuation, never part of a label.
_NOT_LETTERS = frozenset("，、；→。：！？（）「」『』【】《》“”‘’«»…·")

#: Refusal wordings, checked in this order (the table of `parse::REFUSALS`).
REFUSALS: list[tuple[str, str]] = [
    (
        "sorry-cannot",
        r"(?i)\b(?:i['’]m|i am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry\b[^.\n]{0,80}?"
        r"\b(?:can['’]?t|cannot|can not|unable|not able|won['’]t|must decline)",
    ),
    (
        "cannot-assist",
        r"(?i)\bi\s*(?:can['’]?t|cannot|can not|won['’]t|am unable to|['’]m unable to|"
        r"am not able to|['’]m not able to)\s+(?:help|assist|provide|fulfil|fulfill|comply|"
        r"process|analy[sz]e|identify|recogni[sz]e|determine|do that|complete|support|view|see|"
        r"perform|make|interpret|evaluate|classify|accommodate)\b",
    ),
    ("unable", r"(?i)\b(?:i['’]m|i am)\s+(?:unable|not able)\s+to\b"),
    ("apologize", r"(?i)\bi\s+apologi[sz]e\b"),
    ("decline", r"(?i)\bi\s+(?:must|have to|['’]ll have to|will have to|need to)\s+decline\b"),
    (
        "not-comfortable",
        r"(?i)\b(?:i['’]m|i am)\s+not\s+comfortable\b|\bi\s+(?:don['’]t|do not)\s+feel\s+"
        r"comfortable\b",
    ),
    (
        "policy",
        r"(?i)\b(?:content|usage|safety)\s+polic(?:y|ies)\b|\bviolat\w*\s+"
        r"(?:the\s+|our\s+|openai['’]s\s+)?(?:content\s+|usage\s+)?polic",
    ),
    ("as-an-ai", r"(?i)\bas an ai\b"),
    ("sorry", r"(?i)^\W*sorry\b"),
    ("zh", r"抱歉|对不起|无法(?:帮助|提供|识别|处理|完成|分析)"),
]

ORDINALS = [
    *("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"),
    *("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth"),
    *("seventeenth", "eighteenth", "nineteenth", "twentieth"),
]
_ITEM_WORDS = (
    r"image[ \t_-]*text[ \t_-]*pairs?|images?|imgs?|videos?|pictures?|photos?|pairs?|samples?"
    r"|items?|clips?|tweets?"
)
_NAME = re.compile(
    rf"\b(?:(?:the[ \t]+)?({'|'.join(ORDINALS)})[ \t]+(?:{_ITEM_WORDS})\b|(?:{_ITEM_WORDS})"
    r"[ \t_-]*(?:#|no\.?)?[ \t]*([0-9]{1,9})(?:[ \t_-]*(?:image|frame)[ \t_-]*[0-9]{1,9})?"
    r"(?:\.(?:jpe?g|png|gif|bmp|webp|mp4|avi|mov))?)",
    re.I | re.A,
)
_RESULT = re.compile(
    r"\b(?:results?|rankings?|ranked|emotions?|labels?|categor(?:y|ies)|predictions?|"
    r"sentiments?|expressions?|answer|output|classification)"
    r"(?:[\"'`*]|[ \t]){0,4}[:=]",
    re.I | re.A,
)
_NAME_KEY = re.compile(
    r"\b(?:name|id|image|video|item|sample|file(?:name)?|image_id|video_id)"
    r"(?:[\"'`*]|[ \t]){0,4}[:=]",
    re.I | re.A,
)


def ascii_classes(pattern: str) -> str:
    """`\\b`, `\\s`, `\\w` and `\\W` made ASCII, as `parse::ascii_classes` does in Rust."""
    return (
        pattern.replace(r"\b", r"(?a:\b)")
        .replace(r"\s", r"[\t\n\x0B\x0C\r ]")
        .replace(r"\W", r"[^0-9A-Za-z_]")
        .replace(r"\w", r"[0-9A-Za-z_]")
    )


_REFUSALS = [(rid, re.compile(ascii_classes(p))) for rid, p in REFUSALS]
_NUMBER = re.compile(r"[0-9]{1,9}")
_BRACES = re.compile(r"[{}]")
_BRACKETS = re.compile(r"[\[\]]")

NOT_LABELS = frozenset(
    {
        *("name", "result", "results", "image", "images", "video", "videos", "json", "python"),
        *("none", "null", "n/a", "na", "etc", "and", "or", "the", "is", "ranking", "label"),
        "labels",
    }
)
SCAN_WORDS = 4
NGRAM = 3
INVENTED_WORDS = 3


def normalize(label: str) -> str:
    """Lower-cased, trimmed, inner white space collapsed (as `labels::normalize`)."""
    words = [w for w in _WS_SPLIT.split(label) if w]
    out = " ".join(words)
    if "Σ" in out:  # Rust lower-cases char by char: no final-sigma rule
        return "".join(c.lower() for c in out)
    return out.lower()


class Synonyms:
    """variant -> canonical, later pairs overriding earlier ones (as `labels::Synonyms`)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.map: dict[str, str] = {}
        for variant, canonical in pairs:
            v, c = normalize(variant), normalize(canonical)
            if v and c and v != c:
                self.map[v] = c

    def fold(self, label: str) -> str:
        key = normalize(label)
        for _ in range(8):
            nxt = self.map.get(key)
            if nxt is None or nxt == key:
                break
            key = nxt
        return key


class LabelSpace:
    """Candidate labels looked up by folded key."""

    def __init__(self, candidates: Sequence[str], synonyms: Synonyms) -> None:
        self.candidates = list(candidates)
        self.synonyms = synonyms
        self.index: dict[str, int] = {}
        for i, c in enumerate(self.candidates):
            key = synonyms.fold(c)
            if key in self.index:
                first = self.candidates[self.index[key]]
                raise ValueError(f"candidate labels {first!r} and {c!r} fold to the same label")
            self.index[key] = i
        self._cache: dict[str, int | None] = {}

    def lookup(self, label: str) -> int | None:
        try:
            return self._cache[label]
        except KeyError:
            out = self.index.get(self.synonyms.fold(label))
            self._cache[label] = out
            return out


@dataclass
class Result:
    """One parsed answer (the fields of `ger_replay.ParseResult`)."""

    status: str
    rankings: list[list[str]]
    invented: list[list[str]]
    refusal: str | None = None

    @property
    def top1(self) -> list[str | None]:
        return [r[0] if r else None for r in self.rankings]


@dataclass
class _Ranking:
    cands: list[int] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    def push_cand(self, i: int) -> None:
        if i not in self.cands:
            self.cands.append(i)

    def push_invented(self, label: str) -> None:
        key = normalize(label)
        if key in NOT_LABELS or key in self.keys:
            return
        self.keys.add(key)
        self.invented.append(label)

    def empty(self) -> bool:
        return not self.cands and not self.invented

    def merge(self, other: _Ranking) -> None:
        for i in other.cands:
            self.push_cand(i)
        for lab in other.invented:
            self.push_invented(lab)


_EMPTY, _LABEL, _PROSE = 0, 1, 2


def _clean(tok: str) -> str:
    if "(" not in tok and ")" not in tok:
        return tok.strip(_TRIM)
    out = []
    depth = 0
    for c in tok:
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(c)
    return "".join(out).strip(_TRIM)


def _label_like(s: str) -> bool:
    for c in s:
        if c.isascii():
            if not (c.isalpha() or c in _WS or c in "-'"):
                return False
        elif c in _NOT_LETTERS and c != "’":
            return False
    return True


def _value_after(s: str) -> str:
    s = s.lstrip(_WS)
    if not s:
        return s
    first = s[0]
    if first == "[":
        rest = s[1:]
        e = rest.find("]")
        return rest if e < 0 else rest[:e]
    if first in _QUOTES:
        rest = s[1:]
        e = rest.find(_QUOTES[first])
        return rest if e < 0 else rest[:e]
    ends = [e for e in (s.find("}"), s.find("\n")) if e >= 0]
    return s[: min(ends)] if ends else s


def _first_number(s: str) -> int | None:
    m = _NUMBER.search(s)
    return int(m.group(0)) if m else None


def _name_number(m: re.Match[str]) -> int | None:
    if m.group(1) is not None:
        return ORDINALS.index(m.group(1).lower()) + 1
    return int(m.group(2)) if m.group(2) is not None else None


def _is_fence(line: str) -> bool:
    return line.lstrip(_WS).startswith("```")


def refusal(text: str) -> str | None:
    """The id of the first refusal wording found in `text`."""
    for rid, rx in _REFUSALS:
        if rx.search(text):
            return rid
    return None


class Parser:
    def __init__(self, space: LabelSpace) -> None:
        self.space = space

    def classify(self, tok: str, out: _Ranking) -> int:
        c = _clean(tok)
        if not c:
            return _EMPTY
        i = self.space.lookup(c)
        if i is not None:
            out.push_cand(i)
            return _LABEL
        words = [w for w in (x.strip(_TRIM) for x in _WS_SPLIT.split(c)) if w]
        if not words:
            return _EMPTY
        if len(words) <= SCAN_WORDS and self.scan(words, out):
            return _LABEL
        if len(words) <= INVENTED_WORDS and _label_like(c):
            out.push_invented(" ".join(words))
            return _LABEL
        return _PROSE

    def scan(self, words: list[str], out: _Ranking) -> bool:
        found = False
        k = 0
        while k < len(words):
            step = 1
            for n in range(min(NGRAM, len(words) - k), 0, -1):
                j = self.space.lookup(" ".join(words[k : k + n]))
                if j is not None:
                    out.push_cand(j)
                    found = True
                    step = n
                    break
            k += step
        return found

    def mentions(self, line: str) -> _Ranking:
        out = _Ranking()
        for tok in _SEP.split(line):
            c = _clean(tok)
            self.scan([w for w in (x.strip(_TRIM) for x in _WS_SPLIT.split(c)) if w], out)
        return out

    def ranking(self, text: str) -> _Ranking:
        r = _Ranking()
        for tok in _SEP.split(text):
            self.classify(tok, r)
        return r

    def chunk_ranking(self, chunk: str) -> _Ranking:
        m = _RESULT.search(chunk)
        if m:
            return self.ranking(_value_after(chunk[m.end() :]))
        out = _Ranking()
        collecting = False
        for k, line in enumerate(chunk.split("\n")):
            if _is_fence(line):
                if collecting:
                    break
                continue
            r = self.ranking(line)
            if k == 0 and r.empty():
                r = self.mentions(line)
            if r.empty():
                if collecting:
                    break
            else:
                out.merge(r)
                collecting = True
        return out

    def records(self, text: str) -> list[tuple[int | None, _Ranking]]:
        spans: list[tuple[int, int, bool]] = []
        open_at: int | None = None
        for m in _BRACES.finditer(text):
            i = m.start()
            if m.group(0) == "{":
                if open_at is not None:
                    spans.append((open_at, i, False))
                open_at = i
            elif open_at is not None:
                spans.append((open_at, i + 1, True))
                open_at = None
        if open_at is not None:
            spans.append((open_at, len(text), False))
        items: list[tuple[int | None, _Ranking]] = []
        last_end = 0
        for start, end, closed in spans:
            body = text[start:end]
            m = _RESULT.search(body)
            if not m:
                continue
            ranking = self.ranking(_value_after(body[m.end() :]))
            if not closed and ranking.empty():
                continue
            k = _NAME_KEY.search(body)
            key = _first_number(_value_after(body[k.end() :])) if k else None
            if key is None:
                names = list(_NAME.finditer(text[last_end:start]))
                key = _name_number(names[-1]) if names else None
            items.append((key, ranking))
            last_end = end
        return items

    def named(self, text: str) -> list[tuple[int | None, _Ranking]]:
        marks = [(m.start(), m.end(), _name_number(m)) for m in _NAME.finditer(text)]
        items = []
        for k, (_, end, key) in enumerate(marks):
            stop = marks[k + 1][0] if k + 1 < len(marks) else len(text)
            items.append((key, self.chunk_ranking(text[end:stop])))
        return items

    def bracketed(self, text: str) -> list[tuple[int | None, _Ranking]]:
        items: list[tuple[int | None, _Ranking]] = []
        open_at: int | None = None
        for m in _BRACKETS.finditer(text):
            i = m.start()
            if m.group(0) == "[":
                open_at = i + 1
            elif open_at is not None:
                r = self.ranking(text[open_at:i])
                open_at = None
                if r.cands:
                    items.append((None, r))
        return items

    def lines(self, text: str) -> list[tuple[int | None, _Ranking]]:
        items: list[tuple[int | None, _Ranking]] = []
        for line in text.split("\n"):
            if _is_fence(line):
                continue
            colon, stop = line.rfind(":"), line.rfind(". ")
            cut = max(colon + 1 if colon >= 0 else 0, stop + 2 if stop >= 0 else 0)
            tail = line[cut:]
            r = _Ranking()
            prose = False
            for tok in _SEP.split(tail):
                if self.classify(tok, r) == _PROSE:
                    prose = True
                    break
            if not prose and r.cands:
                items.append((None, r))
        return items

    def parse(self, text: str, n_items: int) -> Result:
        tiers = (
            (lambda t: _order(self.records(t)), lambda t: _order(self.named(t))),
            (self.bracketed, self.lines),
        )
        for tier in tiers:
            best: list[tuple[int | None, _Ranking]] = []
            for reading in tier:
                items = reading(text)
                if len(items) == n_items and n_items > 0:
                    return self._finish(items, "ok")
                if len(items) > n_items:
                    return self._finish(items, "count_mismatch")
                if len(items) > len(best):
                    best = items
            if best:
                return self._finish(best, "count_mismatch")
        rid = refusal(text)
        return Result("refused" if rid else "unparseable", [], [], rid)

    def _finish(self, items: list[tuple[int | None, _Ranking]], status: str) -> Result:
        cands = self.space.candidates
        return Result(
            status,
            [[cands[i] for i in r.cands] for _, r in items],
            [list(r.invented) for _, r in items],
        )


def _order(items: list[tuple[int | None, _Ranking]]) -> list[tuple[int | None, _Ranking]]:
    if not items or any(k is None for k, _ in items):
        return items
    seen: set[int | None] = set()
    kept = []
    for k, r in items:
        if k not in seen:
            seen.add(k)
            kept.append((k, r))
    kept.sort(key=lambda it: it[0])
    return kept


def make_space(
    labels: Sequence[str],
    synonyms: Iterable[tuple[str, str]] | None,
    default: Iterable[tuple[str, str]],
) -> LabelSpace:
    return LabelSpace(labels, Synonyms([*default, *(synonyms or [])]))


def parse_answer(
    text: str,
    n_items: int,
    labels: Sequence[str],
    synonyms: Iterable[tuple[str, str]] | None = None,
    default: Iterable[tuple[str, str]] = (),
) -> Result:
    """Parses one answer; `default` is the base synonym table (PROTOCOL.md part 3)."""
    return Parser(make_space(labels, synonyms, default)).parse(text, n_items)


def parse_answers(
    texts: Sequence[str],
    n_items: int | Sequence[int],
    labels: Sequence[str],
    synonyms: Iterable[tuple[str, str]] | None = None,
    default: Iterable[tuple[str, str]] = (),
) -> list[Result]:
    counts = [n_items] * len(texts) if isinstance(n_items, int) else list(n_items)
    if len(counts) != len(texts):
        raise ValueError(f"n_items has {len(counts)} counts for {len(texts)} answers")
    parser = Parser(make_space(labels, synonyms, default))
    return [parser.parse(t, n) for t, n in zip(texts, counts, strict=True)]
