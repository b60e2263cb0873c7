"""`record`, `replay` and `simulate`: calls to an endpoint, live, replayed or simulated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import GerReplayError


@click.command("record")
@click.option("--dataset", help="Dataset key (see `ger-replay datasets`).")
@click.option("--manifest", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Run folder.")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path),
    help="A sweep (TOML): datasets x models x factors, one run folder per cell (instead of "
    "--dataset/--manifest/--out).",
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
@click.option("--template", default="1", show_default=True, help="1, 2, 3 or a template file.")
@click.option("--frames", type=int, default=3, show_default=True)
@click.option(
    "--frame-plan", type=click.Choice(["public", "centred", "motion-peak"]), default="public"
)
@click.option("--color", type=click.Choice(["rgb", "gray"]), default="rgb", show_default=True)
@click.option("--modality", type=click.Choice(["image", "video", "text", "multi"]))
@click.option(
    "--batch-size",
    type=int,
    help="Default: the paper's batch size for the task (docs/PROTOCOL.md part 5).",
)
@click.option("--max-tries", type=int, default=3, show_default=True, help="T_max.")
@click.option("--rpm", type=float, help="Requests per minute, client side.")
@click.option("--tpm", type=float, help="Tokens per minute, client side.")
@click.option("--concurrency", type=int, default=1, show_default=True)
@click.option("--repeat", type=int, default=0, show_default=True, help="Repeat index I.")
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
@click.option("--dry-run", is_flag=True, help="Show the plan; make no request.")
def record_cmd(
    dry_run: bool,
    no_preflight: bool,
    allow_endpoint_change: bool,
    plan_file: Path | None,
    **kw: Any,
) -> None:
    """Record a run (or resume it) against an OpenAI-compatible endpoint; key: OPENAI_API_KEY."""
    from ger_replay.record import recorder

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
    missing = [f"--{k}" for k in ("dataset", "manifest", "out") if kw.get(k) is None]
    if missing:
        common.fail(GerReplayError(f"record needs {', '.join(missing)} (or --plan FILE)"))
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
        click.echo("\n".join(sweep_run.dry_run_lines(rows)))
        if any("error" in r for r in rows):
            raise SystemExit(common.EXIT_INPUT)
        return
    flags = {"preflight": not no_preflight, "allow_endpoint_change": allow_change}
    cells = [replace(c, options=replace(c.options, **flags)) for c in cells]
    outcomes = sweep_run.run(cells, lambda c: click.echo(f"== {c.name}", err=True))
    click.echo("\n".join(sweep_run.summary_lines(outcomes)), err=True)
    if any(o.status == "error" for o in outcomes):
        raise SystemExit(common.EXIT_INPUT)
    if any(o.status == "incomplete" for o in outcomes):
        raise SystemExit(common.EXIT_CHECK)


@click.command("replay")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--manifest", required=True, type=click.Path(path_type=Path))
@click.option("--base-url", help="Endpoint the run was recorded against (default: run.json).")
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


@click.command("simulate")
@click.option("--manifest", required=True, type=click.Path(path_type=Path))
@click.option("--dataset", required=True, help="Dataset key (see `ger-replay datasets`).")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--port", type=int, default=0, show_default=True, help="0: any free port.")
@click.option("--accuracy", type=float, default=0.7, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--refuse-rate", type=float, default=0.0, show_default=True)
@click.option("--drop-rate", type=float, default=0.0, show_default=True)
@click.option("--error-rate", type=float, default=0.0, show_default=True, help="500 answers.")
@click.option("--slow-rate", type=float, default=0.0, show_default=True)
@click.option("--slow-seconds", type=float, default=2.0, show_default=True)
@click.option("--cut-rate", type=float, default=0.0, show_default=True)
@click.option("--invent-rate", type=float, default=0.0, show_default=True)
@click.option("--rpm-limit", type=float, help="Answer 429 with Retry-After above this rate.")
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
    """Serve a loopback OpenAI-compatible simulator answering from MANIFEST's ground truth."""
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
