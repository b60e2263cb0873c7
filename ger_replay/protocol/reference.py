"""The paper's reference values (PROTOCOL.md part 3, rule 8): Tables 3-10 and section 5.7.

Read once from the package data `data/paper_reference.json`. A row is one number of the paper:
a dataset (registry key), a variant (Twitter I agreement level, frame count, modality, color or
prompt template, or none), the metric, the model, its kind (`gpt4v`, `random`, `majority`,
`supervised`) and the value in percent.

`gpt4v_row(...)` maps a run's setting to the paper's GPT-4V number for that setting, for
imported released runs and recorded runs alike; `baseline(...)` and `best_supervised(...)` give
the dataset-level rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Task

RESOURCE = "paper_reference.json"
#: `Reference.select(variant=ANY)`: rows of every variant.
ANY = "*"


class Kind(StrEnum):
    GPT4V = "gpt4v"
    RANDOM = "random"
    MAJORITY = "majority"
    SUPERVISED = "supervised"


@dataclass(frozen=True)
class RefRow:
    table: str
    dataset: str
    variant: str | None
    metric: str
    model: str
    kind: Kind
    value: float

    @property
    def where(self) -> str:
        """Where the number is printed: "Table 7" or "Section 5.7"."""
        return f"Table {self.table}" if "." not in self.table else f"Section {self.table}"


@dataclass(frozen=True)
class Reference:
    source: str
    notes: tuple[str, ...]
    rows: tuple[RefRow, ...]

    def select(
        self,
        dataset: str | None = None,
        kind: Kind | str | None = None,
        variant: str | None = ANY,
    ) -> list[RefRow]:
        """Rows by dataset, kind and variant (`ANY`: any variant; None: rows without one)."""
        out = []
        for r in self.rows:
            if dataset is not None and r.dataset != dataset:
                continue
            if kind is not None and r.kind != kind:
                continue
            if variant != ANY and r.variant != variant:
                continue
            out.append(r)
        return out


class ReferenceError(ValueError):
    pass


def _row(raw: Any, i: int) -> RefRow:
    if not isinstance(raw, dict):
        raise ReferenceError(f"reference row {i} is not an object")
    try:
        key = str(raw["dataset"])
        datasets.get(key)
        value = float(raw["value"])
        return RefRow(
            table=str(raw["table"]),
            dataset=key,
            variant=None if raw.get("variant") is None else str(raw["variant"]),
            metric=str(raw["metric"]),
            model=str(raw["model"]),
            kind=Kind(raw["kind"]),
            value=value,
        )
    except (KeyError, ValueError, TypeError, datasets.UnknownDataset) as e:
        raise ReferenceError(f"reference row {i}: {e}") from None


def parse(data: Any) -> Reference:
    """A reference from its JSON object; raises ReferenceError on anything malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ReferenceError("the reference is not an object with a list of rows")
    rows = tuple(_row(r, i) for i, r in enumerate(data["rows"]))
    return Reference(str(data.get("source", "")), tuple(data.get("notes") or ()), rows)


@cache
def load() -> Reference:
    """The paper's reference values, read once from the package data."""
    text = resources.files("ger_replay.protocol").joinpath("data", RESOURCE).read_text("utf-8")
    return parse(json.loads(text))


# --- a run's setting -> its variant ----------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
TWITTER1_LEVELS = ("five", "four", "three")
#: The frame count the paper's released runs of a video dataset used where the file name does
#: not say (PROTOCOL.md part 4; the reference notes: the released DFEW and FERV39k runs are the
#: 2-frame runs).
RELEASED_DEFAULT_FRAMES = 2
#: Any level anywhere in a lower-cased name: the quick test before the name's words are read.
_ANY_LEVEL = re.compile("|".join(TWITTER1_LEVELS))


def twitter1_level(run: str) -> str | None:
    """Twitter I's agreement level named in a run's name (five, four, three), or None."""
    low = run.lower()
    if not _ANY_LEVEL.search(low):
        return None
    words = set(_WORD.findall(low))
    found = [w for w in TWITTER1_LEVELS if w in words]
    return found[0] if len(found) == 1 else None


def _modality_variant(modality: str | None) -> str | None:
    if modality in ("text",):
        return "text"
    if modality in ("image", "video"):
        return "image or video"
    if modality in ("multi", "image+text"):
        return "fusion"
    return None


def _same(v: Any, default: str) -> bool:
    return v is None or str(v).lower() == default


def gpt4v_variants(
    dataset: str,
    run: str = "",
    template: Any = None,
    frames: Any = None,
    color: Any = None,
    modality: Any = None,
) -> list[str | None] | None:
    """The variants of the paper's GPT-4V rows a run of this setting is comparable with, most
    specific first; None where the paper has no GPT-4V number for the setting."""
    ds = datasets.get(dataset)
    template_s = None if template is None else str(template)
    color_s = None if color is None else ("gray" if str(color).lower() == "grey" else str(color))
    # Settings the paper varied only on some datasets must be at their default elsewhere.
    if ds.key == "sfew2":
        if template_s not in (None, "1", "2", "3"):
            return None
        t = template_s or "1"
        extra: list[str | None] = [None] if t == "1" else []
        if not _same(color_s, "rgb"):
            return None
        return [f"template {t}", *extra]
    if template_s not in (None, "1"):
        return None
    if ds.key == "rafdb":
        return ["rgb"] if _same(color_s, "rgb") else (["gray"] if color_s == "gray" else None)
    if not _same(color_s, "rgb"):
        return None
    if ds.task is Task.DYNAMIC_FACIAL:
        if frames is None:
            return None
        return [f"{int(frames)} frames"]
    if ds.task in (Task.MULTIMODAL, Task.TWEET_SENTIMENT):
        m = _modality_variant(None if modality is None else str(modality))
        if m is None:
            return None
        return [m, "multi", None] if m == "fusion" else [m]
    if ds.key == "twitter1":
        level = twitter1_level(run)
        return None if level is None else [level]
    return [None]


def gpt4v_row(
    dataset: str,
    run: str = "",
    template: Any = None,
    frames: Any = None,
    color: Any = None,
    modality: Any = None,
) -> RefRow | None:
    """The paper's GPT-4V number for a run of this dataset and setting, or None."""
    try:
        variants = gpt4v_variants(dataset, run, template, frames, color, modality)
    except datasets.UnknownDataset:
        return None
    if variants is None:
        return None
    ds = datasets.get(dataset).key
    ref = load()
    for v in variants:
        rows = ref.select(ds, Kind.GPT4V, v)
        if rows:
            return min(rows, key=lambda r: _table_order(r.table))
    return None


def _table_order(table: str) -> float:
    try:
        return float(table)
    except ValueError:
        return 99.0


def level_variant(dataset: str, run: str = "") -> str | None:
    """The variant of the dataset-level rows (baselines, supervised) for a run: Twitter I's
    agreement level, `ANY` elsewhere."""
    if dataset == "twitter1":
        return twitter1_level(run)
    return ANY


def baseline(dataset: str, kind: Kind | str, run: str = "") -> RefRow | None:
    """The paper's Random or Majority row of a dataset (Twitter I: of the run's level)."""
    try:
        key = datasets.get(dataset).key
    except datasets.UnknownDataset:
        return None
    variant = level_variant(key, run)
    if key == "twitter1" and variant is None:
        return None
    rows = load().select(key, Kind(kind), variant)
    return rows[0] if rows else None


def supervised(dataset: str, run: str = "") -> list[RefRow]:
    """The supervised systems the paper quotes for a dataset (Twitter I: the run's level)."""
    try:
        key = datasets.get(dataset).key
    except datasets.UnknownDataset:
        return []
    variant = level_variant(key, run)
    if key == "twitter1" and variant is None:
        return []
    return load().select(key, Kind.SUPERVISED, variant)


def best_supervised(dataset: str, run: str = "") -> RefRow | None:
    rows = supervised(dataset, run)
    return max(rows, key=lambda r: r.value) if rows else None


def for_meta(meta: dict[str, Any]) -> RefRow | None:
    """`gpt4v_row` for a mapping holding run, dataset, template, frames, color, modality."""
    return gpt4v_row(
        str(meta.get("dataset")),
        str(meta.get("run") or ""),
        meta.get("template"),
        meta.get("frames"),
        meta.get("color"),
        meta.get("modality"),
    )
