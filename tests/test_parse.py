"""The answer parser through its Python API: shapes, refusals, batch, synonyms, the CLI."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from oracle import reference as ref
from oracle import shapes

import ger_replay
from ger_replay import _core
from ger_replay.cli import main
from ger_replay.errors import InputError
from ger_replay.parsing import load_synonyms, parse_response, parse_responses
from ger_replay.protocol import datasets
from ger_replay.protocol.labels import default_synonyms

SENT = ["positive", "negative"]
FACES = ["Surprise", "Contempt", "Happiness", "Anger", "Neutral", "Sadness", "Fear", "Disgust"]
MOSI = ["negative", "weakly negative", "neutral", "weakly positive", "positive"]


def both(text: str, n: int, labels: list[str], synonyms: list[tuple[str, str]] | None = None):
    """The Rust result, after checking the reference parser agrees with it."""
    got = parse_response(text, n, labels, synonyms)
    want = ref.parse_answer(text, n, labels, synonyms, default=default_synonyms())
    assert (got.status, got.rankings, got.invented, got.refusal, got.top1, got.hedged) == (
        want.status,
        want.rankings,
        want.invented,
        want.refusal,
        want.top1,
        want.hedged,
    )
    return got


# --- shapes of PROTOCOL.md part 8 and beyond ----------------------------------------------------

PAPER = (
    "As an emotion recognition expert, I will analyze the sentiment of each image.\n\n"
    "1. {'name': 'Image 1', 'result': ['negative', 'positive']}"
    "2. {'name': 'Image 2', 'result': ['positive', 'negative']}"
    "3. {'name': 'Image 3', 'result': ['positive', 'negative']}\n\n"
    "Please note that the classification of sentiments can be subjective."
)


def test_the_papers_shape_run_together() -> None:
    r = both(PAPER, 3, SENT)
    assert r.status == "ok"
    assert r.rankings == [["negative", "positive"], ["positive", "negative"], SENT]
    assert r.top1 == ["negative", "positive", "positive"]
    assert r.invented == [[], [], []]
    assert r.refusal is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # one record per line, no numbering, double quotes
        (
            '{"name": "image-1", "result": ["Happy", "Neutral"]}\n'
            '{"name": "image-2", "result": ["Sad", "Fear"]}',
            [["Happiness", "Neutral"], ["Sadness", "Fear"]],
        ),
        # "For the first image:" around records
        (
            "For the first image: {'name': 'Image 1', 'result': ['angry', 'disgusted']}\n"
            "For the second image: {'name': 'Image 2', 'result': ['surprised']}",
            [["Anger", "Disgust"], ["Surprise"]],
        ),
        # a JSON array in a code fence, items out of order
        (
            '```json\n[{"name": "video2", "result": ["fear"]},\n'
            ' {"name": "video1", "result": ["happiness", "surprise"]}]\n```',
            [["Happiness", "Surprise"], ["Fear"]],
        ),
        # markdown bold names, plain comma lists
        (
            "Here are my rankings:\n**Image 1**: Contempt, Disgust, Anger\n"
            "**Image 2**: Neutral, Sadness\n\nLet me know if you need more.",
            [["Contempt", "Disgust", "Anger"], ["Neutral", "Sadness"]],
        ),
        # an object keyed by names, 0-based, single quotes
        (
            "{'image_0': ['Fear', 'Surprise'], 'image_1': ['Happiness']}",
            [["Fear", "Surprise"], ["Happiness"]],
        ),
        # vertical numbered lists under headings
        (
            "### Image 1\n1. Sadness\n2. Neutral\n\n### Image 2\n1. Happiness\n2. Surprise\n",
            [["Sadness", "Neutral"], ["Happiness", "Surprise"]],
        ),
        # duplicated item: the first one is kept
        (
            "Image 1: Fear, Anger\nImage 2: Neutral\nImage 1: Happiness",
            [["Fear", "Anger"], ["Neutral"]],
        ),
        # result as one quoted comma string
        (
            "{'name': 'Image 1', 'result': 'Happiness, Surprise'}\n"
            "{'name': 'Image 2', 'result': 'Sadness (most likely), Fear'}",
            [["Happiness", "Surprise"], ["Sadness", "Fear"]],
        ),
        # bare lists without names
        (
            '[["Fear", "Anger"], ["Neutral", "Sadness"]]',
            [["Fear", "Anger"], ["Neutral", "Sadness"]],
        ),
        ("1. Fear, Anger\n2. Neutral, Sadness", [["Fear", "Anger"], ["Neutral", "Sadness"]]),
    ],
)
def test_shapes(text: str, expected: list[list[str]]) -> None:
    r = both(text, len(expected), FACES)
    assert r.status == "ok", r
    assert r.rankings == expected


def test_image_text_pairs_and_multiword_labels() -> None:
    text = (
        "Image-text pair 2: ['weakly positive', 'neutral']\n"
        "Image-text pair 1: ['Weakly Negative', 'negative', 'positive']"
    )
    r = both(text, 2, MOSI)
    assert r.rankings == [
        ["weakly negative", "negative", "positive"],
        ["weakly positive", "neutral"],
    ]


def test_invented_labels_are_kept_apart() -> None:
    text = "{'name': 'Image 1', 'result': ['Pain', 'Sadness', 'Concentration', 'Fear']}"
    r = both(text, 1, FACES)
    assert r.rankings == [["Sadness", "Fear"]]
    assert r.invented == [["Pain", "Concentration"]]
    assert r.top1 == ["Sadness"]
    only_invented = both("{'name': 'Image 1', 'result': ['Pain']}", 1, FACES)
    assert only_invented.status == "ok"
    assert only_invented.top1 == [None]


def test_count_mismatch_keeps_what_was_found() -> None:
    r = both(PAPER, 4, SENT)
    assert r.status == "count_mismatch"
    assert len(r.rankings) == 3
    r = both(PAPER, 2, SENT)
    assert r.status == "count_mismatch"


@pytest.mark.parametrize(
    ("text", "rid"),
    [
        ("I'm sorry, I can't help with that.", "sorry-cannot"),
        ("I’m sorry, but I cannot assist with identifying people in images.", "sorry-cannot"),
        ("I can't provide emotion analysis of real people.", "cannot-assist"),
        ("I am not able to comment on this.", "unable"),
        ("Unfortunately, I must decline this request.", "decline"),
        ("This request may violate our content policy.", "policy"),
        ("As an AI, I do not judge feelings.", "as-an-ai"),
        ("Sorry, that is not something I do.", "sorry"),
        ("抱歉，我无法识别图片中的人物情绪。", "zh"),
    ],
)
def test_refusals_name_their_wording(text: str, rid: str) -> None:
    r = both(text, 3, SENT)
    assert r.status == "refused"
    assert r.refusal == rid
    assert r.rankings == []


def test_a_refusal_wording_never_hides_results() -> None:
    text = (
        "I'm sorry, I can't identify people, but here are the emotions:\n"
        "{'name': 'Image 1', 'result': ['Fear', 'Sadness']}"
    )
    r = both(text, 1, FACES)
    assert (r.status, r.refusal, r.rankings) == ("ok", None, [["Fear", "Sadness"]])


def test_unparseable() -> None:
    for text in ["", "{}", "[[[", '```json\n{"name": 7}\n```', "12 34 ??", "ok ok"]:
        r = both(text, 1, SENT)
        assert (r.status, r.rankings, r.refusal) == ("unparseable", [], None), text


def test_prose_without_a_label_is_no_label() -> None:
    """A description naming no emotion, or a request for more context: a status of its own,
    apart from the refusals and from unreadable answers."""
    for text in [
        "The weather is lovely today.",
        "The image shows a man in a blue shirt standing in front of a brick building.",
        "Could you please provide more context about the image?",
        "There are two people sitting at a table with some food in front of them.",
    ]:
        r = both(text, 2, SENT)
        assert (r.status, r.rankings, r.refusal, r.hedged) == ("no_label", [], None, []), text


def test_user_synonyms_fold_free_form_answers() -> None:
    text = "Image 1: joyful, anxious\nImage 2: calm"
    plain = both(text, 2, FACES)
    assert plain.rankings == [[], []]
    assert plain.invented == [["joyful", "anxious"], ["calm"]]
    extra = [("joyful", "happy"), ("anxious", "fear"), ("calm", "neutral")]
    r = both(text, 2, FACES, extra)
    assert r.rankings == [["Happiness", "Fear"], ["Neutral"]]
    assert r.invented == [[], []]


def test_ambiguous_candidates_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="fold to the same label"):
        parse_response("Image 1: happy", 1, ["happy", "Happiness"])


# --- the result object and the batch form ------------------------------------------------------


def test_result_is_frozen_and_comparable() -> None:
    r = parse_response(PAPER, 3, SENT)
    with pytest.raises(AttributeError):
        r.status = "ok"  # type: ignore[misc]
    assert r == parse_response(PAPER, 3, SENT)
    assert r != parse_response(PAPER, 2, SENT)
    assert len(r) == 3
    assert r.to_dict()["rankings"] == r.rankings
    assert "status='ok'" in repr(r).replace('"', "'")


def test_batch_equals_single_calls_in_order() -> None:
    rng = random.Random(3)
    texts, counts = [], []
    for i in range(300):
        n = 1 + i % 7
        rk = [rng.sample(FACES, 3) for _ in range(n)]
        texts.append(shapes.answer(rk, "paper", rng))
        counts.append(n if i % 5 else n + 1)
    texts.append("I'm sorry, I can't help with that.")
    counts.append(2)
    got = parse_responses(texts, counts, FACES)
    assert got == [parse_response(t, n, FACES) for t, n in zip(texts, counts, strict=True)]
    assert [r.status for r in got[:5]] == ["count_mismatch", "ok", "ok", "ok", "ok"]
    assert got[-1].status == "refused"
    same = parse_responses(texts[:3], 1, FACES)
    assert [len(r) for r in same] == [len(r) for r in got[:3]]


def test_batch_count_length_must_match() -> None:
    with pytest.raises(ValueError, match="2 counts for 3 answers"):
        parse_responses(["a", "b", "c"], [1, 2], SENT)


def test_exports_and_stubs() -> None:
    assert ger_replay.parse_response is parse_response
    assert ger_replay.parse_responses is parse_responses
    stub = (Path(ger_replay.__file__).parent / "_core.pyi").read_text(encoding="utf-8")
    for name in ("ParseResult", "parse_response", "parse_responses", "refusal_patterns"):
        assert hasattr(_core, name)
        assert f" {name}(" in stub or f"class {name}" in stub
    assert _core.refusal_patterns() == ref.REFUSALS


# --- the released predictions, written back as answers ------------------------------------------


def test_released_rankings_round_trip(released_dir: Path) -> None:
    """Rankings of the paper's released runs, written in the paper's shape in batches of 20,
    parse back to the same rankings (candidates kept, invented labels set apart)."""
    ds = datasets.get("affectnet")
    with (released_dir / "affectnet" / "label-gpt4v.csv").open(newline="") as f:
        cells = [row["gpt4v"].split(",") for row in csv.DictReader(f) if row["gpt4v"]]
    assert len(cells) > 100
    rng = random.Random(0)
    cands = {c.lower() for c in ds.labels}
    for start in range(0, len(cells), 20):
        batch = cells[start : start + 20]
        r = parse_response(shapes.answer(batch, "paper", rng), len(batch), list(ds.labels))
        assert r.status == "ok"
        for cell, ranking, invented in zip(batch, r.rankings, r.invented, strict=True):
            assert ranking == [c for c in cell if c.lower() in cands]
            assert invented == [c for c in cell if c.lower() not in cands]


# --- synonym files ------------------------------------------------------------------------------


def test_load_synonyms_csv_and_json(tmp_path: Path) -> None:
    p = tmp_path / "syn.csv"
    p.write_text("variant,canonical\n# comment\njoyful, happy\n\nanxious,fear\n", encoding="utf-8")
    assert load_synonyms(p) == [("joyful", "happy"), ("anxious", "fear")]
    j = tmp_path / "syn.json"
    j.write_text(json.dumps({"joyful": "happy", "fear": ["anxious", "scared"]}), encoding="utf-8")
    assert load_synonyms(j) == [("joyful", "happy"), ("anxious", "fear"), ("scared", "fear")]


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("bad.csv", "joyful,happy\nanxious\n", ":2:"),
        ("bad2.csv", "joyful,happy\n,fear\n", ":2:"),
        ("bad.json", '{"joyful": "happy",\n "x": 3}', ":2:"),
        ("broken.json", '{"joyful": \n', ":2:"),
        ("list.json", '["joyful"]', ":1:"),
    ],
)
def test_load_synonyms_errors_name_file_and_line(
    tmp_path: Path, name: str, content: str, where: str
) -> None:
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_synonyms(p)
    assert str(e.value).startswith(f"{p}{where}")


def test_load_synonyms_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_synonyms(tmp_path / "nope.csv")


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_parse_table_and_json(tmp_path: Path) -> None:
    f = tmp_path / "answer.txt"
    f.write_text(PAPER, encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["parse", str(f), "--labels", "positive,negative", "--items", "3"])
    assert out.exit_code == 0, out.output
    assert "status: ok" in out.output
    assert "negative, positive" in out.output
    out = runner.invoke(
        main, ["parse", str(f), "--dataset", "twitter1", "--items", "2", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["status"] == "count_mismatch"
    assert data["top1"] == ["negative", "positive", "positive"]


def test_cli_parse_synonyms_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "answer.txt"
    f.write_text("Image 1: joyful", encoding="utf-8")
    syn = tmp_path / "syn.csv"
    syn.write_text("joyful,happy\n", encoding="utf-8")
    runner = CliRunner()
    args = ["parse", str(f), "--dataset", "affectnet", "--items", "1"]
    out = runner.invoke(main, [*args, "--synonyms", str(syn), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rankings"] == [["Happiness"]]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n", encoding="utf-8")
    out = runner.invoke(main, [*args, "--synonyms", str(bad)])
    assert out.exit_code == 2
    assert f"{bad}:1:" in out.output
    out = runner.invoke(
        main, ["parse", str(tmp_path / "none.txt"), "--labels", "a", "--items", "1"]
    )
    assert out.exit_code == 2
    assert "not found" in out.output
    out = runner.invoke(main, ["parse", str(f), "--items", "1"])
    assert out.exit_code == 2
    assert "--labels" in out.output
    out = runner.invoke(main, ["parse", str(f), "--dataset", "nope", "--items", "1"])
    assert out.exit_code == 2
    assert "unknown dataset" in out.output
