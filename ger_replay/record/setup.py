"""What a recording is set up from: the options, the request settings as run.json keeps them,
the seeded sample order, and the run folder opened, resumed or grown (the plan `--dry-run` shows
is in dryrun.py)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import rundir
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset, Task
from ger_replay.protocol.settings import RequestSettings, Sample
from ger_replay.protocol.status import Status
from ger_replay.record import cassettes, cost, provenance
from ger_replay.record.endpoint import check_params, default_base_url

RESUME_KEYS = (
    "dataset",
    "model",
    "template",
    "template_text",
    "frames",
    "frame_plan",
    "color",
    "modality",
    "repeat",
    "batch_size",
    "max_tries",
    "temperature",
    "max_tokens",
    "token_field",
    "response_format",
    "params",
)
REJECTED = Status.REJECTED.value


def default_batch_size(ds: Dataset, modality: str) -> int:
    """PROTOCOL.md part 5: 20 images; 6 videos (3 frames each) with or without text; the public
    code's 8 for video alone on the multimodal datasets; text alone as images."""
    if ds.task is Task.DYNAMIC_FACIAL:
        return 6
    if ds.task is Task.MULTIMODAL:
        return {"multi": 6, "video": 8}.get(modality, 20)
    return 20


@dataclass
class RecordOptions:
    dataset: str
    manifest: Path
    out: Path
    settings: RequestSettings = field(default_factory=RequestSettings)
    base_url: str = field(default_factory=default_base_url)
    batch_size: int | None = None
    max_tries: int = 3
    rpm: float | None = None
    tpm: float | None = None
    concurrency: int = 1
    repeat: int = 0
    seed: int = 0
    timeout: float = 120.0
    max_transient: int = 8
    backoff: float = 1.0
    name: str | None = None
    synthetic: bool = False
    note: str = ""
    progress: bool = True
    #: check the endpoint (GET /models) before the first batch of a run with work left
    preflight: bool = True
    #: let a resume continue against another endpoint or model (run.json lists them all)
    allow_endpoint_change: bool = False
    #: a seeded, class-stratified subset of this many samples (`record --limit`, subset.py)
    limit: int | None = None
    #: dollars per million tokens (`--price`); None: run.json's, else the table's (cost.py)
    price: cost.Price | None = None
    #: the environment variable holding the endpoint's key (a sweep's model may name another)
    key_env: str = "OPENAI_API_KEY"


def answer_status(raw_status: int, text: str | None, n: int, labels: Sequence[str]) -> str:
    """Whether one answer qualifies: "ok", or the reason it does not."""
    if raw_status == 400:
        return REJECTED
    if text is None:
        return Status.UNPARSEABLE.value
    from ger_replay.parsing import parse_response

    return str(parse_response(text, n, list(labels)).status)


def request_body(settings: RequestSettings, messages: list[dict[str, Any]]) -> dict[str, Any]:
    from ger_replay.record.endpoint import body_fields

    fields = body_fields(
        settings.temperature,
        settings.max_tokens,
        settings.resolved_token_field,
        settings.response_format,
        settings.params,
    )
    return {"model": settings.model, "messages": messages, **fields}


def sample_order(ids: Sequence[str], seed: int, repeat: int) -> list[str]:
    """The run's fixed order: a seeded shuffle (string seeds hash the same on every machine)."""
    order = list(ids)
    random.Random(f"ger-replay:{seed}:{repeat}").shuffle(order)
    return order


def _sent_limits(settings: RequestSettings) -> tuple[float | None, int, str]:
    """The temperature, token limit and its field the body carries: a parameter's when it gives
    a number (run.json's typed fields hold numbers; anything else stays in `params` only)."""
    p = settings.params
    t = p.get("temperature", settings.temperature)
    if t is not None and (isinstance(t, bool) or not isinstance(t, int | float)):
        t = settings.temperature
    for f in ("max_completion_tokens", "max_tokens"):
        if isinstance(p.get(f), int) and not isinstance(p.get(f), bool):
            return t, int(p[f]), f
    return t, settings.max_tokens, settings.resolved_token_field


def settings_meta(settings: RequestSettings) -> dict[str, Any]:
    builtin = settings.template in ("1", "2", "3")
    temperature, max_tokens, token_field = _sent_limits(settings)
    return {
        "model": settings.model,
        "template": settings.template if builtin else "file",
        "template_text": None if builtin else settings.template,
        "frames": settings.frames,
        "frame_plan": settings.frame_plan,
        "color": settings.color,
        "modality": settings.modality,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "token_field": token_field,
        "response_format": settings.response_format or "text",
        "params": dict(settings.params),
    }


def settings_from_meta(meta: Mapping[str, Any]) -> RequestSettings:
    template = meta["template"]
    if template == "file":
        template = meta.get("template_text") or ""
    d = RequestSettings()
    return RequestSettings(
        model=meta["model"],
        template=template,
        frames=int(meta["frames"]),
        color=meta["color"],
        modality=meta["modality"],
        frame_plan=meta.get("frame_plan", d.frame_plan),
        temperature=_temperature(meta, d.temperature),
        max_tokens=int(meta.get("max_tokens", d.max_tokens)),
        # runs recorded before these fields existed sent max_tokens and free text
        token_field=str(meta.get("token_field") or "max_tokens"),
        response_format=meta.get("response_format") or "text",
        params=check_params(meta.get("params") or {}, "run.json params"),
    )


def _temperature(meta: Mapping[str, Any], default: float | None) -> float | None:
    """run.json's temperature: absent in old runs (the default), null when none was sent; a
    temperature given as a parameter is sent from `params`."""
    if "temperature" in (meta.get("params") or {}) or "temperature" not in meta:
        return default
    t = meta["temperature"]
    return None if t is None else float(t)


def resolve(opts: RecordOptions) -> tuple[Dataset, RequestSettings, int]:
    """The dataset, settings with the modality resolved, and the batch size."""
    from ger_replay.protocol.prompts import resolve_modality

    try:
        ds = datasets.get(opts.dataset)
    except datasets.UnknownDataset as e:
        raise InputError(str(e)) from None
    modality = resolve_modality(ds, opts.settings.modality)
    settings = replace(opts.settings, modality=modality)  # type: ignore[arg-type]
    size = opts.batch_size or default_batch_size(ds, modality)
    if size < 1:
        raise InputError("--batch-size must be at least 1")
    if opts.max_tries < 1:
        raise InputError("--max-tries must be at least 1")
    return ds, settings, size


def load_samples(opts: RecordOptions, ds: Dataset, modality: str) -> list[Sample]:
    from ger_replay.record.manifest import load_manifest

    samples = load_manifest(opts.manifest, ds, modality)
    if not samples:
        raise InputError("the manifest lists no samples", opts.manifest)
    return samples


def new_meta(
    opts: RecordOptions, ds: Dataset, settings: RequestSettings, size: int, order: list[str]
) -> dict[str, Any]:
    from ger_replay._version import __version__

    return {
        "schema_version": rundir.SCHEMA_VERSION,
        "kind": rundir.KIND,
        "name": opts.name or opts.out.resolve().name,
        "dataset": ds.key,
        "task": str(ds.task),
        "labels": list(ds.labels),
        "endpoint": cassettes.clean_url(opts.base_url),
        **settings_meta(settings),
        "repeat": opts.repeat,
        "batch_size": size,
        "max_tries": opts.max_tries,
        "seed": opts.seed,
        "sample_order": order,
        "tool_version": __version__,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "synthetic": opts.synthetic,
        "note": opts.note,
    }


def open_run(
    opts: RecordOptions, ds: Dataset, settings: RequestSettings, size: int, samples: list[Sample]
) -> dict[str, Any]:
    """Creates the run folder, or checks that an existing one is the same run."""
    out = opts.out
    if rundir.is_run_dir(out):
        meta = rundir.read_meta(out)
        changed = provenance.check_resume(
            meta, opts.base_url, settings.model, opts.allow_endpoint_change, out / rundir.RUN_JSON
        )
        meta = changed or meta
        want = {**settings_meta(settings), "dataset": ds.key, "repeat": opts.repeat}
        want.update(batch_size=size, max_tries=opts.max_tries)
        had = {**meta, **settings_meta(settings_from_meta(meta))}
        diff = [
            f"{k}: recorded {had.get(k)!r}, asked {want[k]!r}"
            for k in RESUME_KEYS
            if k in want and had.get(k) != want[k]
        ]
        if diff:
            raise InputError(
                "cannot resume: this run was recorded with other settings ("
                + "; ".join(diff)
                + "); record into a new folder",
                out / rundir.RUN_JSON,
            )
        have = {s.sample_id for s in samples}
        missing = [s for s in meta["sample_order"] if s not in have]
        if missing:
            raise InputError(
                f"cannot resume: {len(missing)} sample(s) of the run are not in the manifest "
                f"(first: {missing[0]})",
                opts.manifest,
            )
        rundir.remove_temp_files(out)
        return _resumed(opts, ds, samples, meta, changed)
    if out.exists() and any(not _leftover(p) for p in out.iterdir()):
        raise InputError("exists and is not a run folder; choose an empty or new folder", out)
    order, segments, sub = layout(opts, ds, samples, None)
    meta = new_meta(opts, ds, settings, size, order)
    price = opts.price or cost.known(settings.model)
    if price is not None:
        meta["price"] = price.as_meta()
    if sub is not None:
        meta.update(subset=sub, segments=segments)
    by_id = {s.sample_id: s for s in samples}
    rundir.write_labels(out, [(i, by_id[i].gt) for i in meta["sample_order"]])
    (out / rundir.CASSETTES).mkdir(parents=True, exist_ok=True)
    rundir.write_meta(out, meta)  # last: a folder with run.json is complete
    return meta


def _resumed(
    opts: RecordOptions,
    ds: Dataset,
    samples: list[Sample],
    meta: dict[str, Any],
    changed: dict[str, Any] | None,
) -> dict[str, Any]:
    """run.json of a resumed run: grown by the samples a larger --limit adds, with the price
    given now; written when anything changed."""
    order, segments, sub = layout(opts, ds, samples, meta)
    if order != meta["sample_order"]:  # a subset run grows: the new samples, new batches
        meta = changed = {**meta, "sample_order": order, "segments": segments, "subset": sub}
        by_id = {s.sample_id: s for s in samples}
        rundir.write_labels(opts.out, [(i, by_id[i].gt) for i in order])
    if opts.price is not None and meta.get("price") != opts.price.as_meta():
        meta = changed = {**meta, "price": opts.price.as_meta()}
    if changed is not None:
        rundir.write_meta(opts.out, changed)
    return meta


def _leftover(p: Path) -> bool:
    """What a creation cut short (before run.json) leaves: the lock, labels.csv, an empty
    cassettes folder, temporary files. Such a folder is created again."""
    if p.name in (rundir.LOCK, rundir.LABELS_CSV) or p.name.endswith(rundir.TMP_SUFFIX):
        return not p.is_symlink()
    if p.name == rundir.CASSETTES and p.is_dir() and not p.is_symlink():
        return not any(p.iterdir())
    return False


def layout(
    opts: RecordOptions, ds: Dataset, samples: list[Sample], meta: dict[str, Any] | None
) -> tuple[list[str], list[int] | None, dict[str, int] | None]:
    """(sample_order, segments, subset) of the run after this command (subset.py)."""
    from ger_replay.record import subset

    def shuffle(ids: Sequence[str]) -> list[str]:
        return sample_order(ids, opts.seed, opts.repeat)

    return subset.layout(samples, ds, opts.limit, opts.seed, shuffle, meta)


# ----------------------------------------------------------------------------- record


def options(
    dataset: str,
    manifest: Path,
    out: Path,
    model: str,
    base_url: str,
    template: str,
    frames: int,
    frame_plan: str,
    color: str,
    modality: str | None,
    batch_size: int | None,
    max_tries: int,
    rpm: float | None,
    tpm: float | None,
    concurrency: int,
    repeat: int,
    seed: int = 0,
    params: Sequence[str] = (),
    token_field: str = "auto",
    max_tokens: int | None = None,
    response_format: str = "text",
    limit: int | None = None,
    price: str | None = None,
) -> RecordOptions:
    """RecordOptions from the command line's values (`--template` may name a file)."""
    from ger_replay.protocol.prompts import template_from_option

    if frames < 1:
        raise InputError("--frames must be at least 1")
    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    from ger_replay.record import endpoint

    if max_tokens is not None and max_tokens < 1:
        raise InputError("--max-tokens must be at least 1")
    settings = RequestSettings(
        model=model,
        template=template_from_option(template),
        frames=frames,
        color=color,  # type: ignore[arg-type]
        modality=modality or "image",  # type: ignore[arg-type]
        frame_plan=frame_plan,  # type: ignore[arg-type]
        temperature=None if endpoint.is_reasoning_model(model) else 0.0,
        max_tokens=max_tokens or endpoint.default_max_tokens(model),
        token_field=token_field,
        response_format=response_format,
        params=endpoint.parse_params(params),
    )
    return RecordOptions(
        dataset=dataset,
        manifest=manifest,
        out=out,
        settings=settings,
        base_url=base_url.strip() or default_base_url(),
        batch_size=batch_size,
        max_tries=max_tries,
        rpm=rpm,
        tpm=tpm,
        concurrency=concurrency,
        repeat=repeat,
        seed=seed,
        limit=limit,
        price=cost.parse_price(price) if price is not None else None,
    )
