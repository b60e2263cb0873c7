"""Manifests: the samples of one dataset to send, as CSV or JSONL.

Columns: `sample_id`, `gt`, and the media the task and modality need: `image` (a file), `video`
(a file, or a folder of pre-extracted frames), `text` (inline) or `text_file` (a UTF-8 file).
Paths are relative to the manifest's folder. Other columns are ignored.

Every problem (a missing column or file, an empty or duplicate id, an unknown label) is
collected, and all are raised at once as one `ManifestError` before any call is made.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import rundir
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.prompts import resolve_modality
from ger_replay.protocol.rules import Rules, UnknownLabel
from ger_replay.protocol.settings import RequestSettings, Sample

MEDIA_COLUMNS: tuple[str, ...] = ("image", "video", "text", "text_file")
#: media each modality needs; "text" is met by either `text` or `text_file`
NEEDS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "video": ("video",),
    "text": ("text",),
    "multi": ("video", "text"),
}
#: what a tweet (image-text pair) needs
TWEET_NEEDS: tuple[str, ...] = ("image", "text")


class ManifestError(InputError):
    """Every problem of a manifest at once; `problems` lists them as "line N: ..."."""

    def __init__(self, path: Path, problems: list[str]):
        head = f"{len(problems)} problem(s) in the manifest:"
        super().__init__("\n  ".join([head, *problems]), path)
        self.problems = problems


def _rows_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield reader.line_num, row


def _columns_csv(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    return [h.strip() for h in header]


def _read(path: Path, problems: list[str]) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """Column names and (line, row) pairs."""
    from ger_replay.io.safe_read import check_regular

    check_regular(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows: list[tuple[int, dict[str, Any]]] = []
        columns: dict[str, None] = {}
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    problems.append(f"line {lineno}: not valid JSON ({e.msg})")
                    continue
                if not isinstance(obj, dict):
                    problems.append(f"line {lineno}: expected a JSON object")
                    continue
                columns.update(dict.fromkeys(obj))
                rows.append((lineno, obj))
        return list(columns), rows
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _columns_csv(path), list(_rows_csv(path))
    raise InputError("a manifest must be .csv or .jsonl", path)


def _value(row: dict[str, Any], key: str) -> str | None:
    v = row.get(key)
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def needed_media(dataset: Dataset, modality: str | None) -> tuple[str, ...]:
    mod = resolve_modality(dataset, modality)
    if mod == "multi" and dataset.modality == "image+text":
        return TWEET_NEEDS
    return NEEDS[mod]


def load_manifest(path: Path, dataset: Dataset, modality: str | None = None) -> list[Sample]:
    """The samples of a manifest, with paths resolved and every problem raised at once."""
    path = Path(path)
    if not path.is_file():
        raise InputError("manifest not found", path)
    problems: list[str] = []
    try:
        columns, rows = _read(path, problems)
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"cannot read the manifest: {e}", path) from None
    needs = needed_media(dataset, modality)
    required = ["sample_id", "gt", *(m for m in needs if m != "text")]
    missing = [c for c in required if c not in columns]
    if "text" in needs and "text" not in columns and "text_file" not in columns:
        missing.append("text (or text_file)")
    if missing:
        problems.insert(
            0,
            f"missing column(s): {', '.join(missing)} (needed for {dataset.key}, "
            f"modality {resolve_modality(dataset, modality)}; found: {', '.join(columns)})",
        )
        raise ManifestError(path, problems)
    if not rows and not problems:
        raise ManifestError(path, ["no samples"])

    base = path.parent
    rules = Rules(dataset)
    seen: dict[str, int] = {}
    samples: list[Sample] = []
    for lineno, row in rows:
        where = f"line {lineno}"
        sid = _value(row, "sample_id")
        if sid is None:
            problems.append(f"{where}: empty sample_id")
        elif sid in seen:
            problems.append(f"{where}: duplicate sample_id {sid!r} (first on line {seen[sid]})")
        else:
            seen[sid] = lineno
        gt = _value(row, "gt")
        if gt is None:
            problems.append(f"{where}: empty gt")
        else:
            try:
                rules.truth(gt)
            except UnknownLabel as e:
                problems.append(f"{where}: {e}")
        fields: dict[str, Any] = {}
        for col in ("image", "video"):
            v = _value(row, col)
            if v is None:
                if col in needs:
                    problems.append(f"{where}: empty {col}")
                continue
            p = base / v
            fields[col] = p
            if col in needs:
                ok = p.is_file() if col == "image" else (p.is_file() or p.is_dir())
                if not ok:
                    problems.append(f"{where}: {col} not found: {p}")
        text = _value(row, "text")
        text_file = _value(row, "text_file")
        if text is not None:
            fields["text"] = str(row.get("text"))
        elif text_file is not None:
            tp = base / text_file
            try:
                fields["text"] = tp.read_text(encoding="utf-8")
            except FileNotFoundError:
                if "text" in needs:
                    problems.append(f"{where}: text_file not found: {tp}")
            except (OSError, UnicodeDecodeError) as e:
                if "text" in needs:
                    problems.append(f"{where}: cannot read text_file {tp}: {e}")
        elif "text" in needs:
            problems.append(f"{where}: empty text and text_file")
        if sid is not None and gt is not None:
            samples.append(Sample(sample_id=sid, gt=gt, **fields))
    if problems:
        raise ManifestError(path, problems)
    return samples


def run_samples(
    run_dir: Path, manifest: Path
) -> tuple[dict[str, Any], Dataset, RequestSettings, dict[str, Sample]]:
    """A recorded run's run.json, dataset and request settings, and the samples of `manifest`
    by id, read as the run's settings send them. Raises InputError naming run.json for an
    unknown dataset."""
    from ger_replay.record.setup import settings_from_meta

    meta = rundir.read_meta(run_dir)
    try:
        ds = datasets.get(meta["dataset"])
    except datasets.UnknownDataset as e:
        raise InputError(str(e), run_dir / rundir.RUN_JSON) from None
    settings = settings_from_meta(meta)
    samples = {s.sample_id: s for s in load_manifest(manifest, ds, settings.modality)}
    return meta, ds, settings, samples
