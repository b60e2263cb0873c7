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
        r"perform|make|interpret|evaluate|classify|accommodate|tell|infer|judge|discern|"
        r"speculate|guess|read|assess)\b",
    ),
    ("unable", r"(?i)\b(?:i['’]m|i am)\s+(?:unable|not able)\s+to\b"),
    (
        "not-able",
        r"(?i)\bi\s+(?:won['’]t|will not|wouldn['’]t|would not)\s+be\s+able\s+to\b|"
        r"\b(?:i['’]m|i am)\s+not\s+in\s+a\s+position\s+to\b|"
        r"\bi\s+(?:don['’]t|do not)\s+(?:identify|analy[sz]e|recogni[sz]e|make\s+assumptions)\b|"
        r"\bit\s+(?:is|['’]s)\s+not\s+(?:possible|appropriate)\s+for\s+me\s+to\b",
    ),
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

#: Prose readings (`Parser.lead_lines`, `Parser.prose`): words that are never a label there (ASCII,
#: compared lower-cased), the same list as `parse::STOP_WORDS`.


def _wordset(words: str) -> frozenset[str]:
    """The words of `words`, each also spelled with a curly apostrophe."""
    return frozenset(w2 for w in words.split() for w2 in (w, w.replace("'", "’")))


STOP_WORDS = _wordset(
    """a an the this that these those it its it's he she they them their his her him i i'm me my we
    our you your is are was were be been being am do does did has have had will would can could
    may might should must shall of in on at to for with from by as about into over under and or
    but not no nor so if than then there here what which who whom whose when where why how also
    very just only some any all each both either neither sure yes okay ok certainly absolutely
    hello hi hey well alright hmm note unfortunately however overall based thank thanks hope helps
    luck regards cheers please sorry apologies apology regrettably sadly alas oops dear great
    emotion emotions label labels expression expressions explanation reason reasoning confidence
    description image images picture photo person people face id number rank answer result results
    prediction category sentiment mood feeling feelings score difficult hard unclear unknown
    ambiguous uncertain impossible challenging subjective clear evident visible apparent obvious
    likely possibly probably perhaps maybe man woman child boy girl look looks appear appears seem
    seems show shows display displays see seen after before because since while due during though
    although yet like around behind near toward towards upon within without between through"""
)
#: Words dropped before an invented label in a prose phrase ("a sense of calm" -> "calm").
FILLER_WORDS = _wordset(
    """a an the very quite rather somewhat slightly mildly mostly likely possibly probably perhaps
    of that one mix sense feeling feelings look expression state kind sort bit little hint some
    strong clear general overall mild slight predominantly primarily mainly generally to be being
    in"""
)
#: A label right after one of these words (within three words) is not named but denied.
NEGATIONS = _wordset(
    """not no nor never without neither than isn't aren't doesn't don't didn't isnt arent doesnt
    dont lacks lack lacking absence instead barely hardly"""
)
#: Prefixes of a line that name what follows ("Answer: joy").
KEY_PREFIXES = frozenset(
    {
        *("answer", "final answer", "emotion", "emotions", "predicted emotion", "detected emotion"),
        *("label", "predicted label", "prediction", "result", "category", "expression"),
        *("facial expression", "classification", "output", "response", "sentiment", "mood"),
        *("feeling", "dominant emotion", "primary emotion", "main emotion"),
    }
)
#: Prose cues, tried in this order; the label follows the cue (the table of `parse::CUES`).
CUES: list[tuple[str, str]] = [
    (
        "main",
        r"(?i)\b(?:primary|dominant|main|predominant|prevailing|overall|most\s+(?:likely|prominent"
        r"|evident|apparent|noticeable)|strongest|principal|key)\s+(?:facial\s+)?(?:emotions?|"
        r"expressions?|emotional\s+states?|feelings?|sentiments?|moods?)\b[^.\n]{0,120}?\b(?:is|"
        r"are|appears\s+to\s+be|seems\s+to\s+be|would\s+be|could\s+be|might\s+be|looks\s+like|"
        r"appears|seems)\b(?:\s+(?:likely|most\s+likely|probably|possibly|that\s+of|one\s+of))?",
    ),
    (
        "emotion",
        r"(?i)\b(?:emotions?|expressions?|emotional\s+states?|feelings?|sentiments?|moods?)\b"
        r"[^.\n]{0,80}?\b(?:is|appears\s+to\s+be|seems\s+to\s+be|would\s+be|can\s+be\s+(?:described"
        r"|classified|identified|labell?ed|interpreted|categori[sz]ed)\s+as|is\s+best\s+described"
        r"\s+as|looks\s+like|suggests|suggesting|indicates|indicating|conveys|conveying|of)\b",
    ),
    (
        "seems",
        r"(?i)\b(?:appears?|appearing|seems?|seeming|looks?|looking|feels?|feeling)\s+(?:to\s+be\s+)?"
        r"(?:(?:very|quite|rather|somewhat|slightly|mildly|mostly|visibly|genuinely|clearly|deeply"
        r"|overall)\s+)?",
    ),
    (
        "shows",
        r"(?i)\b(?:displays?|displaying|shows?|showing|expresses|expressing|exhibits?|exhibiting|"
        r"full\s+of|conveys?|conveying|reflects?|reflecting|suggests?|suggesting|indicates?|indicating)\s+",
    ),
    (
        "state",
        r"(?i)\b(?:is|are|was|were|feels?|felt|becomes?|became)\s+(?:(?:clearly|very|quite|so|"
        r"rather|somewhat|slightly|visibly|obviously|extremely|really|genuinely|full\s+of|filled"
        r"\s+with|overcome\s+with|overwhelmed\s+by)\s+)*",
    ),
]
#: Cues after which the label must come first (`is happy`, not `is a surprise party`).
TIGHT_CUES = frozenset({"state"})
#: Where a refusal's clause ends and an answer may follow ("I can't identify people, but ...").
BREAK = r"(?i)\n|[.,;:!?]\s|\bbut\b|\bhowever\b|\balthough\b|\bthat said\b"
#: Words that make a sentence about an emotion (for labels merely mentioned in prose).
CONTEXT = (
    r"(?i)\b(?:emotion|expression|feel|mood|face|facial|look|appear|seem|smil|frown|sentiment)"
)
#: The first this many characters after a cue are read for its label.
PHRASE_CHARS = 80
#: Before a cue, this many characters are read for a negation.
NEG_CHARS = 24

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
_CUES = [(cid, re.compile(ascii_classes(p))) for cid, p in CUES]
_BREAK = re.compile(ascii_classes(BREAK))
_CONTEXT = re.compile(ascii_classes(CONTEXT))
_OR = re.compile(ascii_classes(r"(?i)\s+or\s+|\s+and/or\s+|\s*/\s*"))
_PROSE_SPLIT = re.compile(f'[{re.escape(_WS)},;|/>()\\[\\]{{}}"“”，、；→]+')
_PUNCT = ".,;:!?\"'()*[]{}"
_LEAD_STOPS = frozenset(",:.!?;(\n|—–")

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
    #: Per item, whether the answer named more than one label in prose (the first is kept).
    hedged: list[bool] = field(default_factory=list)

    @property
    def top1(self) -> list[str | None]:
        return [r[0] if r else None for r in self.rankings]


@dataclass
class _Ranking:
    cands: list[int] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    hedged: bool = False

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
        self.hedged = self.hedged or other.hedged


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


def _alow(s: str) -> str:
    """ASCII letters lower-cased, others kept (as Rust's `to_ascii_lowercase`)."""
    return "".join(c.lower() if c.isascii() else c for c in s)


def _prose_words(text: str) -> list[str]:
    return [w for w in (x.strip(_TRIM) for x in _PROSE_SPLIT.split(text)) if w]


def _strip_key(s: str) -> str:
    """`s` without a leading `Answer:`-like key (see KEY_PREFIXES)."""
    k = s.find(":")
    if k >= 0 and _alow(s[:k].strip(" \t*_#`\"'")) in KEY_PREFIXES:
        return s[k + 1 :].lstrip(_TRIM)
    return s


def _lead_split(s: str) -> tuple[str, str]:
    """(the words before the first separator, the rest from the separator on)."""
    prev = ""
    for k, c in enumerate(s):
        if c in _LEAD_STOPS or (c == "-" and prev and prev in _WS):
            return s[:k], s[k:]
        prev = c
    return s, ""


def _lead_rest(line: str) -> str:
    """What follows the label opening `line` (see `Parser.lead`)."""
    return _lead_split(_strip_key(line.lstrip(_TRIM)))[1]


def _is_marker(line: str) -> bool:
    """A list item: `-`, `*` or `•`, or one to three digits and `.` or `)`."""
    s = line.lstrip(_WS)
    if s[:1] in ("-", "*", "•"):
        return True
    d = len(s) - len(s.lstrip("0123456789"))
    return 1 <= d <= 3 and s[d : d + 1] in (".", ")")


def _has_prose(text: str) -> bool:
    """Three words of letters in a row: a sentence (an answer without labels in it)."""
    run = 0
    for w in _WS_SPLIT.split(text):
        w = w.strip(_PUNCT)
        if w and all((c.isascii() and c.isalpha()) or c in "'’-" for c in w):
            run += 1
            if run >= 3:
                return True
        else:
            run = 0
    return False


def _negated(words: list[str], k: int) -> bool:
    return any(_alow(w) in NEGATIONS for w in words[max(0, k - 3) : k])


def _phrase(rest: str) -> str:
    """The label phrase after a cue: to the end of the clause (a comma ends it unless `or`
    follows), read over at most PHRASE_CHARS characters."""
    rest = rest[:PHRASE_CHARS]
    for k, c in enumerate(rest):
        if c in ".;!?\n:":
            return rest[:k]
        if c == ",":
            after = rest[k + 1 :].lstrip(_WS)
            if _alow(after[:3]) != "or ":
                return rest[:k]
    return rest


def _invented_from(words: list[str]) -> str | None:
    """An invented label at the start of a prose phrase: filler words dropped, then up to
    INVENTED_WORDS words before a stop word."""
    k = 0
    while k < len(words) and _alow(words[k]) in FILLER_WORDS:
        k += 1
    taken = []
    for w in words[k:]:
        if _alow(w) in STOP_WORDS or len(taken) == INVENTED_WORDS:
            break
        taken.append(w)
    if not taken or (len(taken) < len(words[k:]) and len(taken) == INVENTED_WORDS):
        return None
    label = " ".join(taken)
    return label if _label_like(label) else None


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
            if any(_alow(w) in STOP_WORDS for w in words):
                return _PROSE
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
        return self.ranking_prose(text)[0]

    def ranking_prose(self, text: str) -> tuple[_Ranking, bool]:
        """The ranking of `text`, and whether a token of it was prose."""
        r = _Ranking()
        prose = False
        for tok in _SEP.split(text):
            if self.classify(tok, r) == _PROSE:
                prose = True
        return r, prose

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
            r, prose = self.ranking_prose(line)
            if k == 0 and (prose or (". " in line and _has_prose(_lead_rest(line)))):
                # A label then its explanation (`Image 1: Happy. The person smiles ...`).
                lead = self.lead(line, True)
                if lead is not None:
                    r = lead
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

    def scan_neg(self, words: list[str], out: _Ranking) -> bool:
        """`scan`, leaving out labels denied by a negation just before them."""
        found = False
        k = 0
        while k < len(words):
            step = 1
            for n in range(min(NGRAM, len(words) - k), 0, -1):
                j = self.space.lookup(" ".join(words[k : k + n]))
                if j is not None:
                    if not _negated(words, k):
                        out.push_cand(j)
                        found = True
                    step = n
                    break
            k += step
        return found

    def lead(self, line: str, allow_invented: bool) -> _Ranking | None:
        """The label opening a line, before a comma, colon, dash or sentence end (`joy, The
        person ...`); a comma must be followed by prose, not by more labels. Outside the
        candidates, only where `allow_invented`, label-like and without stop words."""
        head, rest = _lead_split(_strip_key(line.lstrip(_TRIM)))
        c = _clean(head)
        if not c:
            return None
        words = [w for w in (x.strip(_TRIM) for x in _WS_SPLIT.split(c)) if w]
        if not words or len(words) > INVENTED_WORDS:
            return None
        if rest.startswith(","):
            nxt = _SEP.split(rest[1:], maxsplit=1)[0]
            if self.classify(nxt, _Ranking()) != _PROSE:
                return None
        r = _Ranking()
        i = self.space.lookup(c)
        if i is not None:
            r.push_cand(i)
            return r
        if allow_invented and _label_like(c) and not any(_alow(w) in STOP_WORDS for w in words):
            r.push_invented(" ".join(words))
            return r if r.invented else None
        return None

    def table_row(self, line: str) -> _Ranking | None:
        """The first cell of a table row that is a candidate label."""
        for cell in line.split("|"):
            c = _clean(cell)
            if c:
                i = self.space.lookup(c)
                if i is not None:
                    r = _Ranking()
                    r.push_cand(i)
                    return r
        return None

    def lead_lines(self, text: str) -> list[tuple[int | None, _Ranking]]:
        """Reading 4: a label opening each line (or the first candidate cell of a table row);
        a label outside the candidates only on the first line or a list item, and never in an
        answer holding a refusal wording."""
        items: list[tuple[int | None, _Ranking]] = []
        first = True
        refused = refusal(text) is not None
        for line in text.split("\n"):
            if _is_fence(line) or not line.strip(_WS):
                continue
            if line.lstrip(_WS).startswith("|"):
                r = self.table_row(line)
            else:
                r = self.lead(line, not refused and (first or _is_marker(line)))
            first = False
            if r is not None:
                items.append((None, r))
        return items

    def cue_phrase(self, rest: str, invented_ok: bool, tight: bool) -> _Ranking | None:
        """The labels of the phrase after a cue: candidates named (not denied) in order; an
        alternative after `or` (or, for the main-emotion cue, the first phrase) outside the
        candidates as an invented label. Hedged when more than one label is named. After a
        tight cue, the phrase must open with a candidate."""
        r = _Ranking()
        for j, part in enumerate(_OR.split(_phrase(rest))):
            words = _prose_words(part)
            if j == 0 and words and _alow(words[0]) in NEGATIONS:
                return None
            if j == 0 and tight and not self._opens_with_label(words):
                return None
            if self.scan_neg(words, r):
                continue
            if invented_ok or j > 0:
                label = _invented_from(words)
                if label is not None:
                    r.push_invented(label)
        if r.empty():
            return None
        r.hedged = len(r.cands) + len(r.invented) > 1
        return r

    def _opens_with_label(self, words: list[str]) -> bool:
        return any(
            self.space.lookup(" ".join(words[:n])) is not None
            for n in range(min(NGRAM, len(words)), 0, -1)
        )

    def closing(self, text: str) -> _Ranking | None:
        """A label closing a description: a last sentence of at most INVENTED_WORDS words."""
        s = text.rstrip(_TRIM)
        cut = max(s.rfind(c) for c in ".!?\n")
        tail = _strip_key(s[cut + 1 :].lstrip(_TRIM))
        c = _clean(tail)
        words = _prose_words(c)
        if not words or len(words) > INVENTED_WORDS:
            return None
        if any(_alow(w) in STOP_WORDS for w in words):
            return None
        r = _Ranking()
        i = self.space.lookup(c)
        if i is not None:
            r.push_cand(i)
        elif not self.scan_neg(words, r) and _label_like(c):
            r.push_invented(" ".join(words))
        return None if r.empty() else r

    def prose(self, text: str) -> list[tuple[int | None, _Ranking]]:
        """Reading 5: one label read from prose. After a refusal wording, only what follows the
        refusal's clause is read. Tried in order: the cues (CUES), a label closing the text,
        and (without a refusal, in a text about emotions) the candidates mentioned."""
        refused = False
        for _, rx in _REFUSALS:
            m = rx.search(text)
            if m:
                tail = text[m.end() :]
                b = _BREAK.search(tail)
                if b is None:
                    return []
                text = tail[b.end() :]
                refused = True
                break
        for cid, rx in _CUES:
            for m in rx.finditer(text):
                before = _prose_words(text[max(0, m.start() - NEG_CHARS) : m.start()])
                if _negated(before, len(before)):
                    continue
                r = self.cue_phrase(text[m.end() :], cid == "main", cid in TIGHT_CUES)
                if r is not None:
                    return [(None, r)]
        r = self.closing(text)
        if r is not None:
            return [(None, r)]
        if not refused and _CONTEXT.search(text):
            r = _Ranking()
            self.scan_neg(_prose_words(text), r)
            if r.cands:
                r.hedged = len(r.cands) > 1
                return [(None, r)]
        return []

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
            if best and tier is tiers[0]:
                return self._finish(best, "count_mismatch")
        loose: list[tuple[int | None, _Ranking]] = []
        for reading in (self.lead_lines, self.prose):
            items = reading(text)
            if len(items) == n_items and n_items > 0:
                return self._finish(items, "ok")
            if len(items) > n_items:
                return self._finish(items, "count_mismatch")
            if len(items) > len(loose):
                loose = items
        if best or loose:
            return self._finish(best or loose, "count_mismatch")
        rid = refusal(text)
        if rid:
            return Result("refused", [], [], rid)
        return Result("no_label" if _has_prose(text) else "unparseable", [], [], None)

    def _finish(self, items: list[tuple[int | None, _Ranking]], status: str) -> Result:
        cands = self.space.candidates
        return Result(
            status,
            [[cands[i] for i in r.cands] for _, r in items],
            [list(r.invented) for _, r in items],
            None,
            [r.hedged for _, r in items],
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
