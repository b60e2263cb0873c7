"""Property tests: answers generated from known rankings in every shape parse back to those
rankings, and the Rust parser and the pure-Python reference agree on any text."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import reference as ref
from oracle import shapes

from ger_replay.parsing import parse_response, parse_responses
from ger_replay.protocol import datasets
from ger_replay.protocol.labels import default_synonyms

DEFAULT = default_synonyms()
#: The candidate labels of every dataset of PROTOCOL.md part 1.
LABEL_SETS = [list(d.labels) for d in datasets.DATASETS.values()]
SHAPES = [*shapes.NAMED_SHAPES, *shapes.ORDERED_SHAPES]
#: Spellings a model may use for a label: PROTOCOL.md part 3's variants, any case.
VARIANTS = {c: v for v, c in DEFAULT}


def _agree(text: str, n: int, labels: list[str]) -> None:
    got = parse_response(text, n, labels)
    want = ref.parse_answer(text, n, labels, default=DEFAULT)
    assert (got.status, got.rankings, got.invented, got.refusal, got.hedged) == (
        want.status,
        want.rankings,
        want.invented,
        want.refusal,
        want.hedged,
    ), text


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, list[str], list[list[str]], list[list[str]]]:
    """(text, candidates, expected rankings, expected invented) of a generated answer."""
    labels = draw(st.sampled_from(LABEL_SETS))
    n = draw(st.integers(1, 20))
    shape = draw(st.sampled_from(SHAPES))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    written, expected, invented = [], [], []
    for _ in range(n):
        ranking = rng.sample(labels, rng.randint(1, min(5, len(labels))))
        spelled = []
        for lab in ranking:
            folded = ref.normalize(lab)
            form = rng.choice([lab, lab.lower(), lab.upper(), lab.title()])
            if folded in VARIANTS.values() and rng.random() < 0.3:
                form = next(v for v, c in VARIANTS.items() if c == folded)
            if lab.lower() in VARIANTS and rng.random() < 0.3:
                form = VARIANTS[lab.lower()]
            spelled.append(form)
        extra = []
        if rng.random() < 0.15:
            extra = [rng.choice(["Pain", "Concentration", "Boredom"])]
            spelled.insert(rng.randint(0, len(spelled)), extra[0])
        written.append(spelled)
        expected.append(ranking)
        invented.append(extra)
    text = shapes.answer(
        written,
        shape,
        rng,
        name_style=draw(st.sampled_from(list(shapes.NAME_STYLES))),
        base=draw(st.sampled_from([0, 1])),
        shuffle=draw(st.booleans()),
    )
    return text, labels, expected, invented


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers())
def test_generated_answers_parse_back(case: tuple[str, list[str], list[list[str]], list]) -> None:
    text, labels, expected, invented = case
    got = parse_response(text, len(expected), labels)
    assert got.status == "ok", text
    assert got.rankings == expected, text
    assert got.invented == invented, text
    _agree(text, len(expected), labels)


@settings(max_examples=150, deadline=None)
@given(answers(), st.integers(-3, 3))
def test_wrong_counts_are_count_mismatches(case: tuple, delta: int) -> None:
    text, labels, expected, _ = case
    n = max(len(expected) + delta, 0)
    got = parse_response(text, n, labels)
    assert got.status == ("ok" if n == len(expected) else "count_mismatch")
    _agree(text, n, labels)


FRAGMENTS = [
    "{", "}", "[", "]", "'", '"', ":", ",", "\n", " ", "1.", "Image 1", "image-2", "video3",
    "'name'", "'result'", "result:", "Name:", "Happiness", "sad", "weakly positive", "**",
    "```json", "(", ")", "the second image", "I'm sorry", "I can't help", "Pain", "é", "’",
    "、", "→", "#", "=", "Sample #4", "Image-text pair 2", "0", "99999999999", ". ",
]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40), st.integers(0, 6))
def test_parsers_agree_on_fragment_soup(parts: list[str], n: int) -> None:
    _agree("".join(parts), n, LABEL_SETS[0])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.integers(0, 4))
def test_parsers_agree_on_any_text(text: str, n: int) -> None:
    _agree(text, n, ["Happiness", "weakly positive", "Fear", "others"])


@settings(max_examples=30, deadline=None)
@given(st.lists(answers(), min_size=1, max_size=30))
def test_batch_equals_single(cases: list[tuple]) -> None:
    labels = cases[0][1]
    texts = [c[0] for c in cases]
    counts = [len(c[2]) for c in cases]
    assert parse_responses(texts, counts, labels) == [
        parse_response(t, n, labels) for t, n in zip(texts, counts, strict=True)
    ]


@st.composite
def label_answers(draw: st.DrawFn) -> tuple[str, list[str], list[list[str]], list[bool], str]:
    """(text, candidates, expected rankings, expected hedged, shape) of an answer giving one
    label an item (two for a hedged main emotion), in the shapes of `shapes.LABEL_SHAPES`."""
    labels = draw(st.sampled_from(LABEL_SETS))
    shape = draw(st.sampled_from(sorted(shapes.LABEL_SHAPES)))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    if shape == "main_emotion":
        tops = rng.sample(labels, draw(st.integers(1, 2)))
        return shapes.main_emotion(tops, rng), labels, [tops], [len(tops) > 1], shape
    n = 1 if shape in shapes.SINGLE_ITEM else draw(st.integers(1, 20))
    tops = [rng.choice(labels) for _ in range(n)]
    text = shapes.LABEL_SHAPES[shape](tops, rng)
    return text, labels, [[t] for t in tops], [False] * n, shape


@settings(max_examples=500, deadline=None)
@given(label_answers())
def test_label_shapes_parse_back(
    case: tuple[str, list[str], list[list[str]], list[bool], str],
) -> None:
    text, labels, expected, hedged, _ = case
    got = parse_response(text, len(expected), labels)
    assert (got.status, got.rankings, got.hedged) == ("ok", expected, hedged), text
    assert got.invented == [[] for _ in expected], text
    _agree(text, len(expected), labels)


@settings(max_examples=200, deadline=None)
@given(label_answers(), st.sampled_from([-1, 1, 2]))
def test_label_shapes_keep_count_mismatches(case: tuple, delta: int) -> None:
    """Asked for another number of items, a multi-item answer is a count mismatch (what the
    recorder retries on): explanations never add or hide items."""
    text, labels, expected, _, shape = case
    n = len(expected) + delta
    if shape in shapes.SINGLE_ITEM or n < 1:
        return
    got = parse_response(text, n, labels)
    assert got.status == "count_mismatch", text
    assert len(got.rankings) == len(expected), text
    _agree(text, n, labels)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(LABEL_SETS),
    st.sampled_from([*shapes.REFUSAL_TEXTS, *shapes.NO_LABEL_TEXTS]),
    st.integers(1, 4),
)
def test_refusals_and_prose_without_labels(labels: list[str], text: str, n: int) -> None:
    got = parse_response(text, n, labels)
    want = "refused" if text in shapes.REFUSAL_TEXTS else "no_label"
    assert (got.status, got.rankings, got.hedged) == (want, [], []), text
    _agree(text, n, labels)


PROSE_FRAGMENTS = [
    "The primary emotion ", "appears to be ", "seems ", "looks ", "is ", " or ", "not ", ", ",
    ". ", "\n", "happy", "sad", "weakly positive", "Sleepy", "joy", "Answer: ", "1. ", "- ",
    "| ", " |", "I can't identify people", ", but ", "However, ", "the person ", "emotion ",
    "expression ", "full of ", "clearly ", "’", "…", "Disgustedly Surprised", "fear/surprise",
]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(PROSE_FRAGMENTS), max_size=40), st.integers(0, 4))
def test_parsers_agree_on_prose_soup(parts: list[str], n: int) -> None:
    _agree("".join(parts), n, LABEL_SETS[int(n) % len(LABEL_SETS)])
