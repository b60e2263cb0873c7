"""Regression corpus of the answer parser (tests/data/parse_corpus):
- `answers.jsonl`: answers in the shapes models give, with the expected result;
- `fuzz/`: inputs kept from fuzzing (first byte: item count and label set, as the fuzz targets
  read them); both parsers must return, agree, and keep the result's invariants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oracle import reference as ref

from ger_replay import parse_response, parse_responses
from ger_replay.protocol.labels import default_synonyms

CORPUS = Path(__file__).parent / "data" / "parse_corpus"
DEFAULT = default_synonyms()
CASES = [json.loads(line) for line in (CORPUS / "answers.jsonl").read_text("utf-8").splitlines()]
FUZZ = sorted((CORPUS / "fuzz").glob("*"))
#: The label sets of rust_core/fuzz (fuzz_targets/parse_answer.rs and atheris_parse.py).
LABEL_SETS = [
    ["Surprise", "Contempt", "Happiness", "Anger", "Neutral", "Sadness", "Fear", "Disgust"],
    ["negative", "weakly negative", "neutral", "weakly positive", "positive"],
    ["positive", "negative"],
    ["happiness", "surprise", "disgust", "repression", "others"],
]
EXTRA = [("joyful", "happy"), ("calm", "neutral")]


@pytest.mark.parametrize("case", CASES, ids=[c["note"] for c in CASES])
def test_answers(case: dict) -> None:
    hedged = case.get("hedged", [False] * len(case["rankings"]))
    want = (case["status"], case["rankings"], case["invented"], case["refusal"], hedged)
    got = parse_response(case["text"], case["n_items"], case["labels"])
    assert (got.status, got.rankings, got.invented, got.refusal, got.hedged) == want
    r = ref.parse_answer(case["text"], case["n_items"], case["labels"], default=DEFAULT)
    assert (r.status, r.rankings, r.invented, r.refusal, r.hedged) == want


#: The shapes of answers models give beyond the paper's, each with its own cases.
SHAPES = [
    *("label_explanation", "label_closing", "main_emotion", "label_per_line", "markdown"),
    *("json", "image_lines", "decline_then_answer", "refusal", "no_label", "invented", "hedged"),
]


def test_every_shape_has_cases_single_and_multi_item() -> None:
    count = {s: sum(c["shape"] == s for c in CASES) for s in SHAPES}
    assert min(count.values()) >= 15, count
    assert {c["shape"] for c in CASES} <= {*SHAPES, "paper", "structured"}
    for shape in ("label_explanation", "label_per_line", "markdown", "json", "image_lines"):
        assert any(c["shape"] == shape and c["n_items"] > 1 for c in CASES), shape
        assert any(c["shape"] == shape and c["n_items"] == 1 for c in CASES), shape


def test_fuzz_corpus_is_present() -> None:
    assert len(FUZZ) >= 20


def _check_fuzz_input(data: bytes) -> None:
    if not data:
        return
    head, text = data[0], data[1:].decode("utf-8", errors="replace")
    n, labels = head % 32, LABEL_SETS[(head // 64) % len(LABEL_SETS)]
    got = parse_response(text, n, labels, EXTRA)
    want = ref.parse_answer(text, n, labels, EXTRA, default=DEFAULT)
    assert (got.status, got.rankings, got.invented, got.refusal, got.hedged) == (
        want.status,
        want.rankings,
        want.invented,
        want.refusal,
        want.hedged,
    )
    assert len(got.rankings) == len(got.invented) == len(got.hedged)
    assert (got.status == "ok") == (n > 0 and len(got.rankings) == n)
    for ranking in got.rankings:
        assert len(set(ranking)) == len(ranking)
        assert set(ranking) <= set(labels)


def test_fuzz_inputs() -> None:
    failed = []
    for path in FUZZ:
        try:
            _check_fuzz_input(path.read_bytes())
        except AssertionError as e:
            failed.append(f"{path.name}: {e}")
    assert not failed, "\n".join(failed[:5])


def test_large_and_hostile_inputs_return() -> None:
    """Megabyte answers of repeated openers, names and separators: no crash, no stack overflow,
    (and, by the linear design, no hang); results keep their invariants."""
    labels = LABEL_SETS[0]
    texts = [
        "{" * 500_000,
        "[" * 500_000 + "Fear",
        "Image 1: " * 100_000,
        "{'name': 'Image 1', 'result': [" * 50_000,
        ", " * 500_000 + "Happiness",
        "I'm sorry " * 100_000,
        "(" * 300_000 + "Fear" + ")" * 300_000,
        "\u00a0’" * 300_000,
        "image 1 happy " * 80_000,
    ]
    for got in parse_responses(texts, 3, labels):
        assert len(got.rankings) == len(got.invented)
        assert len(got.rankings) == len(got.hedged)
        assert got.status in {"ok", "refused", "count_mismatch", "unparseable", "no_label"}
