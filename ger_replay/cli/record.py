"""`record`, `replay` and `simulate`: calls to an endpoint, live, replayed or simulated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import GerReplayError, InputError


def _old_out(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        common.echo("note: --out is deprecated; use -o/--output", err=True)
    return value


@click.command("record")
@click.option("--dataset", help="Dataset key (see `ger-replay datasets`).")
@click.option(
    "--manifest",
    type=click.Path(path_type=Path),
    help="CSV listing the test samples: sample id, ground truth and media path(s).",
)
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    help="Run folder to write (an existing run folder is resumed, nothing recorded is redone).",
)
@click.option(
    "--out",
    "old_out",
    type=click.Path(path_type=Path),
    hidden=True,
    callback=_old_out,
    help="Deprecated spelling of -o/--output.",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path),
    help="A sweep (TOML): datasets x models x factors, one run folder per cell (instead of "
    "--dataset/--manifest/-o).",
)
@click.option("--model", default="gpt-4o", show_default=True, help="The model (or deployment).")
@click.option(
    "--base-url",
    envvar="OPENAI_BASE_URL",
    default="https://api.openai.com/v1",
    show_default=True,
    help="The endpoint, ending in /v1 (default: $OPENAI_BASE_URL, else OpenAI's).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A request body field, VALUE as JSON else a string (repeatable; wins over defaults).",
)
@click.option(
    "--token-field",
    type=click.Choice(["auto", "max_tokens", "max_completion_tokens"]),
    default="auto",
    show_default=True,
    help="Field of the token limit; auto: max_completion_tokens for gpt-4o and later, o-series "
    "and gpt-5, else max_tokens.",
)
@click.option(
    "--max-tokens",
    type=int,
    help="Token limit of an answer (default 1000; 16000 for reasoning models).",
)
@click.option(
    "--response-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: ask for {results: [{name, result}]} by a JSON schema.",
)
@click.option(
    "--template",
    default="1",
    show_default=True,
    help="Prompt wording: the paper's template 1, 2 or 3, or a file holding your own.",
)
@click.option(
    "--frames", type=int, default=3, show_default=True, help="Frames taken from each video."
)
@click.option(
    "--frame-plan",
    type=click.Choice(["public", "centred", "motion-peak"]),
    default="public",
    show_default=True,
    help="Which frames to take: the public code's rule, evenly spaced from the centre, or "
    "where the picture changes most.",
)
@click.option(
    "--color",
    type=click.Choice(["rgb", "gray"]),
    default="rgb",
    show_default=True,
    help="Send images in colour or in grayscale.",
)
@click.option(
    "--modality",
    type=click.Choice(["image", "video", "text", "multi"]),
    help="What each request carries [default: the dataset's own].",
)
@click.option(
    "--batch-size",
    type=int,
    help="Samples per request [default: the paper's batch size for the task].",
)
@click.option(
    "--max-tries",
    type=int,
    default=3,
    show_default=True,
    help="Requests per batch before a failing batch is split in halves and tried again.",
)
@click.option("--rpm", type=float, help="Most requests per minute to send.")
@click.option("--tpm", type=float, help="Most tokens per minute to send.")
@click.option(
    "--concurrency", type=int, default=1, show_default=True, help="Requests in flight at once."
)
@click.option(
    "--repeat",
    type=int,
    default=0,
    show_default=True,
    help="Number of this run among repeats of one setting (0 = first); "
    "each repeat shuffles the samples differently.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="A smoke run: a seeded, class-stratified subset of N samples (a later run without "
    "--limit in the same folder adds the rest).",
)
@click.option(
    "--price",
    metavar="IN,OUT",
    help="Dollars per million input and output tokens (default: the table of known models, "
    "docs/endpoints.md).",
)
@click.option(
    "--no-preflight",
    is_flag=True,
    help="Skip the check of the endpoint (GET /models) before the first batch.",
)
@click.option(
    "--allow-endpoint-change",
    is_flag=True,
    help="Let a resume continue against another endpoint or model (run.json lists them all).",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be sent and what it costs; send nothing."
)
def record_cmd(
    dry_run: bool,
    no_preflight: bool,
    allow_endpoint_change: bool,
    plan_file: Path | None,
    old_out: Path | None,
    **kw: Any,
) -> None:
    """Record a run (or resume it) against an OpenAI-compatible endpoint; key: OPENAI_API_KEY."""
    from ger_replay.record import recorder

    kw["out"] = kw.get("out") or old_out

    if plan_file is not None:
        ctx = click.get_current_context()
        given = [
            f"--{k.replace('_', '-')}"
            for k in kw
            if ctx.get_parameter_source(k) is click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            common.fail(
                GerReplayError(
                    f"--plan takes the runs' settings from the plan file; {', '.join(given)} "
                    "belong in it (see ger_replay/record/sweep.py)"
                )
            )
        _record_plan(plan_file, dry_run, no_preflight, allow_endpoint_change)
        return
    names = {"dataset": "--dataset", "manifest": "--manifest", "out": "-o/--output"}
    missing = [flag for k, flag in names.items() if kw.get(k) is None]
    if missing:
        common.fail(InputError(f"record needs {', '.join(missing)} (or --plan FILE)"))
    try:
        opts = recorder.options(**kw)
        opts.preflight = not no_preflight
        opts.allow_endpoint_change = allow_endpoint_change
        if dry_run:
            echo("\n".join(recorder.plan(opts).lines()))
            return
        summary = recorder.record(opts)
    except GerReplayError as e:
        common.fail(e)
    echo("\n".join(recorder.summary_lines(summary)), err=True)
    common.report_errors(summary.errors)
    if summary.interrupted is not None:
        import os
        import sys

        # calls abandoned in flight must not hold the exit: everything recorded is on disk
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(common.EXIT_INTERRUPTED)
    if not summary.complete:
        raise SystemExit(common.EXIT_CHECK)


def _record_plan(path: Path, dry_run: bool, no_preflight: bool, allow_change: bool) -> None:
    """`record --plan FILE`: every cell of the sweep, then one summary."""
    from dataclasses import replace

    from ger_replay.record import sweep, sweep_run

    try:
        cells = sweep.cells(path)
    except GerReplayError as e:
        common.fail(e)
    if dry_run:
        rows = sweep_run.dry_run(cells)
        echo("\n".join(sweep_run.dry_run_lines(rows)))
        if any("error" in r for r in rows):
            raise SystemExit(common.EXIT_INPUT)
        return
    flags = {"preflight": not no_preflight, "allow_endpoint_change": allow_change}
    cells = [replace(c, options=replace(c.options, **flags)) for c in cells]
    outcomes = sweep_run.run(cells, lambda c: echo(f"== {c.name}", err=True))
    echo("\n".join(sweep_run.summary_lines(outcomes)), err=True)
    if any(o.status == "error" for o in outcomes):
        raise SystemExit(common.EXIT_INPUT)
    if any(o.status == "incomplete" for o in outcomes):
        raise SystemExit(common.EXIT_CHECK)


@click.command("replay")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--manifest",
    required=True,
    type=click.Path(path_type=Path),
    help="The manifest the run was recorded from (the media must be at hand).",
)
@click.option("--base-url", help="Endpoint the run was recorded against [default: run.json's].")
def replay_cmd(run_dir: Path, manifest: Path, base_url: str | None) -> None:
    """Re-run the pipeline against RUN_DIR's cassettes, offline; fail on the first unrecorded
    request."""
    from ger_replay.record.replay import ReplayMismatch, replay

    try:
        got = replay(run_dir, manifest, base_url)
    except ReplayMismatch as e:
        common.fail(e, common.EXIT_CHECK)
    except GerReplayError as e:
        common.fail(e)
    echo(
        f"replayed {got.batches} batch(es), {got.calls} call(s): {got.answered} answered, "
        f"{got.unanswered} unanswered; every request had its recording",
        err=True,
    )


def _share(name: str, text: str) -> Any:
    """A share-of-requests option of the simulator, in [0, 1]."""
    return click.option(
        name, type=click.FloatRange(0, 1), default=0.0, show_default=True, help=text
    )


@click.command("simulate")
@click.option(
    "--manifest",
    required=True,
    type=click.Path(path_type=Path),
    help="CSV of the test samples; the simulator answers from their ground truth.",
)
@click.option("--dataset", required=True, help="Dataset key (see `ger-replay datasets`).")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--port", type=int, default=0, show_default=True, help="0: any free port.")
@click.option(
    "--accuracy",
    type=click.FloatRange(0, 1),
    default=0.7,
    show_default=True,
    help="Share of samples answered with the true label.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the simulated answers."
)
@_share("--refuse-rate", "Share of requests answered with a refusal.")
@_share("--drop-rate", "Share of answers leaving one item out (a count mismatch).")
@_share("--error-rate", "Share of requests answered with a server error (HTTP 500).")
@_share("--slow-rate", "Share of requests answered late (see --slow-seconds).")
@click.option(
    "--slow-seconds",
    type=float,
    default=2.0,
    show_default=True,
    help="How late a slow answer comes.",
)
@_share("--cut-rate", "Share of requests whose connection is cut without an answer.")
@_share(
    "--invent-rate", "Share of items whose ranking starts with a label that is not a candidate."
)
@click.option(
    "--rpm-limit",
    type=float,
    help="Requests per minute above which the simulator answers 429 (too many requests).",
)
@click.option(
    "--serve-model",
    "models",
    multiple=True,
    help="Serve only this model name (repeatable; others: 404). Default: any name.",
)
@click.option(
    "--key-env",
    help="Answer 401 unless the request carries the key held by this environment variable.",
)
def simulate_cmd(
    manifest: Path, dataset: str, models: tuple[str, ...], key_env: str | None, **kw: Any
) -> None:
    """Serve a loopback OpenAI-compatible simulator answering from MANIFEST's ground truth
    (until Ctrl-C)."""
    import os

    from ger_replay.record.simulator import run_forever

    try:
        if key_env is not None and not os.environ.get(key_env):
            raise GerReplayError(f"--key-env {key_env}: the variable is not set")
        if models:
            kw["models"] = models
        if key_env is not None:
            kw["api_key"] = os.environ[key_env]
        run_forever(manifest, dataset, **kw)
    except (GerReplayError, ValueError) as e:
        common.fail(e)
    except OSError as e:
        host, port = kw.get("host"), kw.get("port")
        common.fail(InputError(f"cannot listen on {host}:{port}: {e.strerror or e}"))
