"""What a recording is set up from: the options, the request settings as run.json keeps them,
the seeded sample order, the run folder opened or resumed, and the plan `--dry-run` shows."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import journal, rundir
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset, Task
from ger_replay.protocol.settings import RequestSettings, Sample
from ger_replay.protocol.status import Status
from ger_replay.record import cassettes, strategy
from ger_replay.record.client import (
    estimate_tokens,
)

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
    base_url: str = "https://api.openai.com/v1"
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


def answer_status(raw_status: int, text: str | None, n: int, labels: Sequence[str]) -> str:
    """Whether one answer qualifies: "ok", or the reason it does not."""
    if raw_status == 400:
        return REJECTED
    if text is None:
        return Status.UNPARSEABLE.value
    from ger_replay.parsing import parse_response

    return str(parse_response(text, n, list(labels)).status)


def request_body(settings: RequestSettings, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": settings.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
    }


def sample_order(ids: Sequence[str], seed: int, repeat: int) -> list[str]:
    """The run's fixed order: a seeded shuffle (string seeds hash the same on every machine)."""
    order = list(ids)
    random.Random(f"ger-replay:{seed}:{repeat}").shuffle(order)
    return order


def settings_meta(settings: RequestSettings) -> dict[str, Any]:
    builtin = settings.template in ("1", "2", "3")
    return {
        "model": settings.model,
        "template": settings.template if builtin else "file",
        "template_text": None if builtin else settings.template,
        "frames": settings.frames,
        "frame_plan": settings.frame_plan,
        "color": settings.color,
        "modality": settings.modality,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
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
        temperature=float(meta.get("temperature", d.temperature)),
        max_tokens=int(meta.get("max_tokens", d.max_tokens)),
    )


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
        want = {**settings_meta(settings), "dataset": ds.key, "repeat": opts.repeat}
        want.update(batch_size=size, max_tries=opts.max_tries)
        diff = [
            f"{k}: recorded {meta.get(k)!r}, asked {want[k]!r}"
            for k in RESUME_KEYS
            if k in want and meta.get(k) != want[k]
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
        return meta
    if out.exists() and any(not _leftover(p) for p in out.iterdir()):
        raise InputError("exists and is not a run folder; choose an empty or new folder", out)
    ids = [s.sample_id for s in samples]
    meta = new_meta(opts, ds, settings, size, sample_order(ids, opts.seed, opts.repeat))
    by_id = {s.sample_id: s for s in samples}
    rundir.write_labels(out, [(i, by_id[i].gt) for i in meta["sample_order"]])
    (out / rundir.CASSETTES).mkdir(parents=True, exist_ok=True)
    rundir.write_meta(out, meta)  # last: a folder with run.json is complete
    return meta


def _leftover(p: Path) -> bool:
    """What a creation cut short (before run.json) leaves: the lock, labels.csv, an empty
    cassettes folder, temporary files. Such a folder is created again."""
    if p.name in (rundir.LOCK, rundir.LABELS_CSV) or p.name.endswith(rundir.TMP_SUFFIX):
        return not p.is_symlink()
    if p.name == rundir.CASSETTES and p.is_dir() and not p.is_symlink():
        return not any(p.iterdir())
    return False


# ----------------------------------------------------------------------------- plan


@dataclass
class Plan:
    samples: int
    batches: int
    batch_size: int
    min_requests: int
    max_requests: int
    prompt_tokens: int
    completion_tokens: int
    done: int = 0
    model: str = ""
    endpoint: str = ""

    def lines(self) -> list[str]:
        todo = self.batches - self.done
        return [
            f"model:             {self.model} at {self.endpoint}",
            f"samples:           {self.samples} in batches of up to {self.batch_size}",
            f"batches:           {todo} to record of {self.batches}"
            + (f" ({self.done} already finished)" if self.done else ""),
            f"requests:          {self.min_requests} if every answer qualifies, "
            f"at most {self.max_requests}",
            f"tokens (estimate): {self.prompt_tokens:,} prompt + "
            f"{self.completion_tokens:,} completion, one request per batch to record",
        ]


def plan(opts: RecordOptions) -> Plan:
    """The plan of a run (`--dry-run`): no request is made and nothing is written. Tokens are
    estimated from the first batch's messages, scaled to the samples still to record; batches
    a resume would skip (finished in the journal) are not counted in requests or tokens."""
    from ger_replay.record.messages import build_messages

    ds, settings, size = resolve(opts)
    samples = load_samples(opts, ds, settings.modality)
    order = sample_order([s.sample_id for s in samples], opts.seed, opts.repeat)
    done: set[str] = set()
    if rundir.is_run_dir(opts.out):
        meta = rundir.read_meta(opts.out)
        order = meta["sample_order"]
        done = journal.finished_batches(journal.read(opts.out / rundir.JOURNAL))
    plan_batches = rundir.batches(order, size)
    todo = [(b, ids) for b, ids in plan_batches if b not in done]
    by_id = {s.sample_id: s for s in samples}
    first = [by_id[i] for i in plan_batches[0][1]]
    tokens = estimate_tokens(build_messages(ds, first, settings))
    per_sample = tokens / len(first)
    n_todo = sum(len(ids) for _, ids in todo)
    lo = hi = 0
    for _, ids in todo:
        a, b = strategy.planned_calls(len(ids), opts.max_tries)
        lo, hi = lo + a, hi + b
    return Plan(
        samples=len(order),
        batches=len(plan_batches),
        batch_size=size,
        min_requests=lo,
        max_requests=hi,
        prompt_tokens=round(per_sample * n_todo),
        completion_tokens=30 * n_todo,
        done=len(plan_batches) - len(todo),
        model=settings.model,
        endpoint=cassettes.clean_url(opts.base_url),
    )


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
) -> RecordOptions:
    """RecordOptions from the command line's values (`--template` may name a file)."""
    from ger_replay.protocol.prompts import template_from_option

    if frames < 1:
        raise InputError("--frames must be at least 1")
    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    settings = RequestSettings(
        model=model,
        template=template_from_option(template),
        frames=frames,
        color=color,  # type: ignore[arg-type]
        modality=modality or "image",  # type: ignore[arg-type]
        frame_plan=frame_plan,  # type: ignore[arg-type]
    )
    return RecordOptions(
        dataset=dataset,
        manifest=manifest,
        out=out,
        settings=settings,
        base_url=base_url,
        batch_size=batch_size,
        max_tries=max_tries,
        rpm=rpm,
        tpm=tpm,
        concurrency=concurrency,
        repeat=repeat,
        seed=seed,
    )
