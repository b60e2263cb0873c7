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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ger_replay.errors import GerReplayError, InputError
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


def cells(path: Path, progress: bool = True) -> list[Cell]:
    """Every cell of a plan, its RecordOptions ready; every problem names the plan file."""
    from ger_replay.protocol.prompts import resolve_modality
    from ger_replay.record import cost, endpoint
    from ger_replay.record.recorder import RecordOptions
    from ger_replay.record.settings import RequestSettings

    path = Path(path)
    data = read_plan(path)
    base = path.parent
    out_root = base / str(data.get("out", "runs"))
    seed = data.get("seed", 0)
    limit = data.get("limit")
    max_tries = data.get("max_tries", 3)
    for name, v in (("seed", seed), ("max_tries", max_tries)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise _fail(path, f"{name} must be a whole number, found {v!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise _fail(path, f"limit must be a whole number of at least 1, found {limit!r}")
    factors = data.get("factors", {})
    if not isinstance(factors, dict):
        raise _fail(path, "[factors] must be a table")
    _check_keys(path, "[factors]", factors, FACTOR_KEYS)
    given = factors.get("templates", "1")
    templates = [str(t) for t in _list(path, "templates", given, (str, int))]
    colors = _list(path, "colors", factors.get("colors", "rgb"), str)
    for c in colors:
        if c not in ("rgb", "gray"):
            raise _fail(path, f"colors: {c!r} is not rgb or gray")
    frames = _list(path, "frames", factors.get("frames", 3), int)
    if any(f < 1 for f in frames):
        raise _fail(path, "frames must be at least 1")
    plans = _list(path, "frame_plans", factors.get("frame_plans", "public"), str)
    modalities = factors.get("modalities")
    reps = factors.get("repeats", 1)
    if isinstance(reps, int) and not isinstance(reps, bool):
        if reps < 1:
            raise _fail(path, "repeats must be at least 1 (or a list of repeat indices)")
        repeats = list(range(reps))
    else:
        repeats = _list(path, "repeats", reps, int)

    dsets: list[tuple[Dataset, Path, int | None]] = []
    for i, d in enumerate(data["datasets"], start=1):
        where = f"[[datasets]] #{i}"
        if not isinstance(d, dict) or "key" not in d or "manifest" not in d:
            raise _fail(path, f"{where} needs key and manifest")
        _check_keys(path, where, d, DATASET_KEYS)
        try:
            ds = datasets.get(str(d["key"]))
        except datasets.UnknownDataset as e:
            raise _fail(path, f"{where}: {e}") from None
        dsets.append((ds, base / str(d["manifest"]), d.get("batch_size")))

    models: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, m in enumerate(data["models"], start=1):
        where = f"[[models]] #{i}"
        if not isinstance(m, dict) or not isinstance(m.get("model"), str) or not m["model"]:
            raise _fail(path, f"{where} needs model (a name)")
        _check_keys(path, where, m, MODEL_KEYS)
        name = safe_name(str(m.get("name") or m["model"]))
        if name in names:
            raise _fail(path, f"{where}: two models are named {name!r}; give each a name")
        names.add(name)
        params = endpoint.check_params(m.get("params", {}), f"{where} params")
        price = m.get("price")
        if price is not None:
            if not (isinstance(price, list) and len(price) == 2):
                raise _fail(path, f"{where}: price must be [IN, OUT] dollars per million tokens")
            price = cost.parse_price(f"{price[0]},{price[1]}")
        models.append({**m, "name": name, "params": params, "price": price})

    out: list[Cell] = []
    for ds, manifest, ds_batch in dsets:
        mods: list[str | None]
        if ds.modality == "multi":
            mods = list(_list(path, "modalities", modalities, str)) if modalities else [None]
        else:
            mods = [None]
        # templates 2 and 3 exist for facial emotion only (PROTOCOL.md part 6)
        tmpls = [t for t in templates if t not in ("2", "3") or ds.task is Task.FACIAL_EMOTION]
        if not tmpls:
            raise _fail(path, f"templates: none of {templates} applies to {ds.key} (template 1)")
        for m in models:
            for template, modality, rep in itertools.product(tmpls, mods, repeats):
                mod = resolve_modality(ds, modality)
                has_video = mod in ("video", "multi") and ds.modality in ("video", "multi")
                has_image = mod != "text"  # colours and frames apply to what has pictures
                for color, fr, fp in itertools.product(
                    colors if has_image else ["rgb"],
                    frames if has_video else [3],
                    plans if has_video else ["public"],
                ):
                    model = str(m["model"])
                    settings = RequestSettings(
                        model=model,
                        template=_template(path, template),
                        frames=fr,
                        color=color,
                        modality=mod,  # type: ignore[arg-type]
                        frame_plan=fp,  # type: ignore[arg-type]
                        temperature=None if endpoint.is_reasoning_model(model) else 0.0,
                        max_tokens=int(m.get("max_tokens") or endpoint.default_max_tokens(model)),
                        token_field=str(m.get("token_field", "auto")),
                        response_format=str(m.get("response_format", "text")),
                        params=m["params"],
                    )
                    parts = [ds.key, m["name"], f"t{template if len(template) < 4 else 'file'}"]
                    if has_image:
                        parts.append(color)
                    if has_video:
                        parts.append(f"f{fr}" + ("" if fp == "public" else f"-{fp}"))
                    if ds.modality == "multi" and modality is not None:
                        parts.append(mod)
                    parts.append(f"r{rep}")
                    name = "-".join(parts)
                    opts = RecordOptions(
                        dataset=ds.key,
                        manifest=manifest,
                        out=out_root / name,
                        settings=settings,
                        base_url=str(m.get("base_url") or endpoint.default_base_url()),
                        batch_size=m.get("batch_size") or ds_batch,
                        max_tries=max_tries,
                        rpm=m.get("rpm"),
                        tpm=m.get("tpm"),
                        concurrency=int(m.get("concurrency", 1)),
                        repeat=rep,
                        seed=seed,
                        name=name,
                        progress=progress,
                        limit=limit,
                        price=m["price"],
                        key_env=str(m.get("key_env") or "OPENAI_API_KEY"),
                    )
                    factors_used = {"template": template, "repeat": rep}
                    if has_image:
                        factors_used["color"] = color
                    if has_video:
                        factors_used.update(frames=fr, frame_plan=fp)
                    if ds.modality == "multi":
                        factors_used["modality"] = mod
                    out.append(Cell(name, ds.key, m["name"], opts, factors_used))
    seen: dict[str, int] = {}
    for c in out:
        seen[c.name] = seen.get(c.name, 0) + 1
    dups = [n for n, k in seen.items() if k > 1]
    if dups:
        raise _fail(path, f"two cells share the folder {dups[0]} (a factor is listed twice?)")
    return out


def _template(path: Path, t: str) -> str:
    from ger_replay.protocol.prompts import template_from_option

    if t in ("1", "2", "3"):
        return t
    p = Path(t) if Path(t).is_absolute() else path.parent / t
    return template_from_option(str(p))


@dataclass
class CellOutcome:
    cell: Cell
    status: str  # complete, incomplete, error
    detail: str = ""
    batches: str = ""
    calls: int = 0
    spent: float | None = None


def dry_run(cell_list: Sequence[Cell]) -> list[dict[str, Any]]:
    """The plan of every cell (no request, nothing written)."""
    from ger_replay.record import recorder

    rows: list[dict[str, Any]] = []
    for c in cell_list:
        try:
            p = recorder.plan(c.options)
        except GerReplayError as e:
            rows.append({"cell": c.name, "error": str(e)})
            continue
        rows.append(
            {
                "cell": c.name,
                "samples": p.samples,
                "batches": p.batches - p.done,
                "requests": f"{p.min_requests}-{p.max_requests}",
                "prompt_tokens": p.prompt_tokens,
                "completion_tokens": p.completion_tokens,
                "cost": p.estimate,
                "min_requests": p.min_requests,
                "max_requests": p.max_requests,
            }
        )
    return rows


def dry_run_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    from ger_replay.record.cost import money

    lines = [
        f"{'cell':<48} {'samples':>7} {'batches':>7} {'requests':>11} {'tokens':>12} {'cost':>10}"
    ]
    tot_req = [0, 0]
    tot_tok = 0
    costs: list[float | None] = []
    errors = 0
    for r in rows:
        if "error" in r:
            errors += 1
            lines.append(f"{r['cell']:<48} error: {r['error']}")
            continue
        tok = r["prompt_tokens"] + r["completion_tokens"]
        lines.append(
            f"{r['cell']:<48} {r['samples']:>7} {r['batches']:>7} {r['requests']:>11} "
            f"{tok:>12,} {money(r['cost']):>10}"
        )
        tot_req[0] += r["min_requests"]
        tot_req[1] += r["max_requests"]
        tot_tok += tok
        costs.append(r["cost"])
    known = [c for c in costs if c is not None]
    cost_text = money(sum(known)) + (
        f" (+ {len(costs) - len(known)} cell(s) without a price)" if len(known) < len(costs) else ""
    )
    lines.append(
        f"{len(rows)} cell(s): {tot_req[0]}-{tot_req[1]} requests, {tot_tok:,} tokens "
        f"(estimate), cost {cost_text}" + (f"; {errors} cell(s) with errors" if errors else "")
    )
    return lines


def run(
    cell_list: Sequence[Cell], on_cell: Callable[[Cell], None] | None = None
) -> list[CellOutcome]:
    """Records (or resumes) every cell in turn; a cell's failure is kept and the next goes on."""
    from ger_replay.record import recorder

    outcomes = []
    for c in cell_list:
        if on_cell is not None:
            on_cell(c)
        try:
            s = recorder.record(c.options)
        except GerReplayError as e:
            outcomes.append(CellOutcome(c, "error", str(e)))
            continue
        spent = s.price.cost(s.stats.prompt_tokens, s.stats.completion_tokens) if s.price else None
        outcomes.append(
            CellOutcome(
                c,
                "complete" if s.complete else "incomplete",
                "; ".join(s.errors),
                f"{s.skipped + s.batches_done}/{s.batches}",
                s.stats.calls,
                spent,
            )
        )
    return outcomes


def summary_lines(outcomes: Sequence[CellOutcome]) -> list[str]:
    from ger_replay.record.cost import money

    lines = [f"{'cell':<48} {'status':<10} {'batches':>9} {'calls':>6} {'spent':>10}"]
    for o in outcomes:
        lines.append(
            f"{o.cell.name:<48} {o.status:<10} {o.batches:>9} {o.calls:>6} {money(o.spent):>10}"
            + (f"  {o.detail.splitlines()[0][:200]}" if o.detail else "")
        )
    n = {k: sum(o.status == k for o in outcomes) for k in ("complete", "incomplete", "error")}
    spent = [o.spent for o in outcomes if o.spent is not None]
    lines.append(
        f"{len(outcomes)} cell(s): {n['complete']} complete, {n['incomplete']} incomplete, "
        f"{n['error']} failed; spent this session {money(sum(spent))}"
        + (" (cells without a price not counted)" if len(spent) < len(outcomes) else "")
        + ("; run the same command again to resume" if n["incomplete"] or n["error"] else "")
    )
    return lines


def with_progress(cell_list: Sequence[Cell], progress: bool) -> list[Cell]:
    return [replace(c, options=replace(c.options, progress=progress)) for c in cell_list]
