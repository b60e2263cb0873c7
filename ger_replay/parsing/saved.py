"""A saved model answer read and parsed: what the `parse` command shows."""

from __future__ import annotations

import sys
from pathlib import Path

from ger_replay.errors import InputError
from ger_replay.parsing.api import ParseResult, parse_response
from ger_replay.parsing.synonyms import load_synonyms


def read_answer(path: Path) -> str:
    """The answer text of a file (`-` reads standard input)."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("answer file not found", path) from None
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from None
    except OSError as e:
        raise InputError(f"cannot read the answer file: {e.strerror}", path) from None


def candidate_labels(labels: str | None, dataset: str | None) -> list[str]:
    """Labels from `--labels a,b,c`, or else the candidates of `--dataset KEY`."""
    if labels:
        out = [lab.strip() for lab in labels.split(",") if lab.strip()]
        if out:
            return out
    if dataset:
        from ger_replay.protocol import datasets

        try:
            return list(datasets.get(dataset).labels)
        except datasets.UnknownDataset as e:
            raise InputError(str(e)) from None
    raise InputError("give the candidate labels with --labels a,b,c or --dataset KEY")


def parse_file(
    path: Path,
    n_items: int,
    labels: str | None,
    dataset: str | None,
    synonyms: Path | None,
) -> ParseResult:
    text = read_answer(path)
    cands = candidate_labels(labels, dataset)
    extra = load_synonyms(synonyms) if synonyms is not None else None
    try:
        return parse_response(text, n_items, cands, extra)
    except ValueError as e:
        raise InputError(str(e)) from None
