"""Differential fuzzing of the answer parser on its Python entry point, with atheris.

    python rust_core/fuzz/atheris_parse.py CORPUS_DIR -max_total_time=300

Coverage guidance comes from the pure-Python reference parser (instrumented by atheris); every
input also runs through `ger_replay.parse_response` (the Rust parser), which must not raise and
must agree with the reference. A disagreement or an exception stops the run with the input saved
as a crash file."""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

# The reference parser lives with the tests (tests/oracle).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
with atheris.instrument_imports():
    from oracle import reference as ref

from ger_replay import parse_response
from ger_replay.protocol.labels import default_synonyms

DEFAULT = default_synonyms()
LABEL_SETS = [
    ["Surprise", "Contempt", "Happiness", "Anger", "Neutral", "Sadness", "Fear", "Disgust"],
    ["negative", "weakly negative", "neutral", "weakly positive", "positive"],
    ["positive", "negative"],
]


def one_input(data: bytes) -> None:
    if not data:
        return
    head, rest = data[0], data[1:]
    text = rest.decode("utf-8", errors="replace")
    n = head % 32
    labels = LABEL_SETS[(head // 64) % len(LABEL_SETS)]
    got = parse_response(text, n, labels, [("joyful", "happy")])
    want = ref.parse_answer(text, n, labels, [("joyful", "happy")], default=DEFAULT)
    a = (got.status, got.rankings, got.invented, got.refusal, got.hedged)
    b = (want.status, want.rankings, want.invented, want.refusal, want.hedged)
    if a != b:
        raise AssertionError(f"parsers disagree on {text!r}: rust {a} reference {b}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
