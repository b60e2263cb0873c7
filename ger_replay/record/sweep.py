"""`ger-replay record --plan FILE`: a sweep of datasets x models x factors, one run folder per
cell, from a TOML plan.

    out = "runs/sweep"                 # the cells' folders go here (relative to the plan file)
    seed = 0                           # optional
    limit = 14                         # optional: every cell a smoke run of N samples

    [[datasets]]
    key = "sfew2"
    manifest = "manifests/sfew2.csv"

    [[models]]
    model = "gpt-4o"
    name = "gpt-4o"                    # in folder names (default: the model)
    base_url = "https://api.openai.com/v1"   # default: $OPENAI_BASE_URL, else OpenAI's
    key_env = "OPENAI_API_KEY"         # the variable holding this endpoint's key
    params = { seed = 1 }              # body fields, as --param
    max_tokens = 1000                  # optional, as --max-tokens
    token_field = "auto"               # optional, as --token-field
    response_format = "text"           # optional, as --response-format
    price = [2.5, 10.0]                # optional, as --price
    rpm = 60                           # optional, as --rpm (also tpm, concurrency, batch_size)

    [factors]                          # each optional; the defaults are the paper's
    templates = ["1", "2", "3"]
    colors = ["rgb", "gray"]
    frames = [2, 3]                    # datasets with video only
    modalities = ["video", "text", "multi"]   # multimodal datasets only
    repeats = 3                        # or a list of repeat indices, [0, 1, 2]

Factors that do not apply to a dataset (frames without video, modalities of a single-modality
dataset, templates 2 and 3 outside facial emotion, colours of text alone) do not multiply its
cells. Cell folders are named
`<dataset>-<model name>-t<template>[-<color>][-f<frames>][-<modality>]-r<repeat>`. Every cell is a
plain run folder: running the plan again resumes each one; a failing cell does not stop the
others, and one summary closes the sweep.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset, Task

TOP_KEYS = {"out", "seed", "limit", "datasets", "models", "factors", "max_tries"}
DATASET_KEYS = {"key", "manifest", "batch_size"}
MODEL_KEYS = {
    "model",
    "name",
    "base_url",
    "key_env",
    "params",
    "max_tokens",
    "token_field",
    "response_format",
    "price",
    "rpm",
    "tpm",
    "concurrency",
    "batch_size",
}
FACTOR_KEYS = {"templates", "colors", "frames", "modalities", "repeats", "frame_plans"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass
class Cell:
    """One run of the sweep."""

    name: str
    dataset: str
    model_name: str
    options: Any  # recorder.RecordOptions
    factors: dict[str, Any] = field(default_factory=dict)


def _fail(path: Path, msg: str) -> InputError:
    return InputError(msg, path)


def _check_keys(path: Path, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise _fail(
            path,
            f"{where}: unknown key(s) {', '.join(extra)}; known: {', '.join(sorted(allowed))}",
        )


def _list(path: Path, where: str, value: Any, kind: type | tuple[type, ...]) -> list[Any]:
    vals = value if isinstance(value, list) else [value]
    if not vals or not all(isinstance(v, kind) and not isinstance(v, bool) for v in vals):
        raise _fail(path, f"{where} must be a non-empty list of {_kind(kind)}, found {value!r}")
    return vals


def _kind(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))


def safe_name(text: str) -> str:
    """A folder-name-safe form of a model name ("Qwen/Qwen2.5-VL" -> "Qwen_Qwen2.5-VL")."""
    return _UNSAFE.sub("_", text).strip("._") or "model"


def read_plan(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, "plan file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(path, f"cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise _fail(path, f"not valid TOML: {e}") from None
    _check_keys(path, "the plan", data, TOP_KEYS)
    for key in ("datasets", "models"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise _fail(path, f"the plan needs at least one [[{key}]] table")
    return data


@dataclass
class Factors:
    templates: list[str]
    colors: list[str]
    frames: list[int]
    frame_plans: list[str]
    modalities: list[str] | None
    repeats: list[int]


@dataclass
class Common:
    """What every cell shares: where the folders go, the seed, the limit, T_max."""

    out_root: Path
    seed: int
    limit: int | None
    max_tries: int
    progress: bool


def _whole(path: Path, name: str, v: Any, least: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < least:
        raise _fail(path, f"{name} must be a whole number of at least {least}, found {v!r}")
    return v


def _factors(path: Path, data: Mapping[str, Any]) -> Factors:
    f = data.get("factors", {})
    if not isinstance(f, dict):
        raise _fail(path, "[factors] must be a table")
    _check_keys(path, "[factors]", f, FACTOR_KEYS)
    colors = _list(path, "colors", f.get("colors", "rgb"), str)
    bad = [c for c in colors if c not in ("rgb", "gray")]
    if bad:
        raise _fail(path, f"colors: {bad[0]!r} is not rgb or gray")
    frames = _list(path, "frames", f.get("frames", 3), int)
    if any(n < 1 for n in frames):
        raise _fail(path, "frames must be at least 1")
    reps = f.get("repeats", 1)
    if isinstance(reps, int) and not isinstance(reps, bool):
        repeats = list(range(_whole(path, "repeats", reps, 1)))
    else:
        repeats = _list(path, "repeats", reps, int)
    mods = f.get("modalities")
    return Factors(
        templates=[str(t) for t in _list(path, "templates", f.get("templates", "1"), (str, int))],
        colors=colors,
        frames=frames,
        frame_plans=_list(path, "frame_plans", f.get("frame_plans", "public"), str),
        modalities=_list(path, "modalities", mods, str) if mods is not None else None,
        repeats=repeats,
    )


def _datasets(path: Path, data: Mapping[str, Any]) -> list[tuple[Dataset, Path, int | None]]:
    out = []
    for i, d in enumerate(data["datasets"], start=1):
        where = f"[[datasets]] #{i}"
        if not isinstance(d, dict) or "key" not in d or "manifest" not in d:
            raise _fail(path, f"{where} needs key and manifest")
        _check_keys(path, where, d, DATASET_KEYS)
        try:
            ds = datasets.get(str(d["key"]))
        except datasets.UnknownDataset as e:
            raise _fail(path, f"{where}: {e}") from None
        out.append((ds, path.parent / str(d["manifest"]), d.get("batch_size")))
    return out


def _models(path: Path, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    from ger_replay.record import cost, endpoint

    out: list[dict[str, Any]] = []
    for i, m in enumerate(data["models"], start=1):
        where = f"[[models]] #{i}"
        if not isinstance(m, dict) or not isinstance(m.get("model"), str) or not m["model"]:
            raise _fail(path, f"{where} needs model (a name)")
        _check_keys(path, where, m, MODEL_KEYS)
        name = safe_name(str(m.get("name") or m["model"]))
        if any(o["name"] == name for o in out):
            raise _fail(path, f"{where}: two models are named {name!r}; give each a name")
        price = m.get("price")
        if price is not None:
            if not (isinstance(price, list) and len(price) == 2):
                raise _fail(path, f"{where}: price must be [IN, OUT] dollars per million tokens")
            price = cost.parse_price(f"{price[0]},{price[1]}")
        params = endpoint.check_params(m.get("params", {}), f"{where} params")
        out.append({**m, "name": name, "params": params, "price": price})
    return out


def cells(path: Path, progress: bool = True) -> list[Cell]:
    """Every cell of a plan, its RecordOptions ready; every problem names the plan file."""
    path = Path(path)
    data = read_plan(path)
    common = Common(
        out_root=path.parent / str(data.get("out", "runs")),
        seed=_whole(path, "seed", data.get("seed", 0), 0),
        limit=_whole(path, "limit", data["limit"], 1) if "limit" in data else None,
        max_tries=_whole(path, "max_tries", data.get("max_tries", 3), 1),
        progress=progress,
    )
    factors = _factors(path, data)
    models = _models(path, data)
    out: list[Cell] = []
    for ds, manifest, ds_batch in _datasets(path, data):
        # templates 2 and 3 exist for facial emotion only (PROTOCOL.md part 6)
        tmpls = [t for t in factors.templates if t == "1" or ds.task is Task.FACIAL_EMOTION]
        if not tmpls:
            raise _fail(path, f"templates: none of {factors.templates} applies to {ds.key}")
        mods = factors.modalities if ds.modality == "multi" and factors.modalities else [None]
        for m in models:
            for template, modality, rep in itertools.product(tmpls, mods, factors.repeats):
                out += _cells_of(path, ds, manifest, ds_batch, m, factors, common,
                                 (template, modality, rep))  # fmt: skip
    names = [c.name for c in out]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise _fail(path, f"two cells share the folder {dups[0]} (a factor is listed twice?)")
    return out


def _cells_of(
    path: Path,
    ds: Dataset,
    manifest: Path,
    ds_batch: int | None,
    m: Mapping[str, Any],
    factors: Factors,
    common: Common,
    chosen: tuple[str, str | None, int],
) -> list[Cell]:
    """The cells of one dataset, model, template, modality and repeat: one per colour, frame
    count and frame plan where those apply."""
    from ger_replay.protocol.prompts import resolve_modality

    template, modality, rep = chosen
    mod = resolve_modality(ds, modality)
    has_video = mod in ("video", "multi") and ds.modality in ("video", "multi")
    has_image = mod != "text"  # colours and frames apply to what has pictures
    out = []
    for color, fr, fp in itertools.product(
        factors.colors if has_image else ["rgb"],
        factors.frames if has_video else [3],
        factors.frame_plans if has_video else ["public"],
    ):
        used: dict[str, Any] = {"template": template, "repeat": rep}
        parts = [ds.key, m["name"], f"t{template if len(template) < 4 else 'file'}"]
        if has_image:
            parts.append(color)
            used["color"] = color
        if has_video:
            parts.append(f"f{fr}" + ("" if fp == "public" else f"-{fp}"))
            used.update(frames=fr, frame_plan=fp)
        if ds.modality == "multi" and modality is not None:
            parts.append(mod)
            used["modality"] = mod
        name = "-".join([*parts, f"r{rep}"])
        opts = _options(path, ds, manifest, ds_batch, m, common, name, used, mod)
        out.append(Cell(name, ds.key, m["name"], opts, used))
    return out


def _options(
    path: Path,
    ds: Dataset,
    manifest: Path,
    ds_batch: int | None,
    m: Mapping[str, Any],
    common: Common,
    name: str,
    used: Mapping[str, Any],
    modality: str,
) -> Any:
    from ger_replay.protocol.settings import RequestSettings
    from ger_replay.record import endpoint
    from ger_replay.record.setup import RecordOptions

    model = str(m["model"])
    settings = RequestSettings(
        model=model,
        template=_template(path, str(used["template"])),
        frames=int(used.get("frames", 3)),
        color=used.get("color", "rgb"),
        modality=modality,  # type: ignore[arg-type]
        frame_plan=used.get("frame_plan", "public"),
        temperature=None if endpoint.is_reasoning_model(model) else 0.0,
        max_tokens=int(m.get("max_tokens") or endpoint.default_max_tokens(model)),
        token_field=str(m.get("token_field", "auto")),
        response_format=str(m.get("response_format", "text")),
        params=m["params"],
    )
    return RecordOptions(
        dataset=ds.key,
        manifest=manifest,
        out=common.out_root / name,
        settings=settings,
        base_url=str(m.get("base_url") or endpoint.default_base_url()),
        batch_size=m.get("batch_size") or ds_batch,
        max_tries=common.max_tries,
        rpm=m.get("rpm"),
        tpm=m.get("tpm"),
        concurrency=int(m.get("concurrency", 1)),
        repeat=int(used["repeat"]),
        seed=common.seed,
        name=name,
        progress=common.progress,
        limit=common.limit,
        price=m["price"],
        key_env=str(m.get("key_env") or "OPENAI_API_KEY"),
    )


def _template(path: Path, t: str) -> str:
    from ger_replay.protocol.prompts import template_from_option

    if t in ("1", "2", "3"):
        return t
    p = Path(t) if Path(t).is_absolute() else path.parent / t
    return template_from_option(str(p))
