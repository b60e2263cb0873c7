"""`record`, `replay` and `simulate`: calls to an endpoint, live, replayed or simulated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ger_replay.cli import common
from ger_replay.cli.common import echo
from ger_replay.errors import GerReplayError


@click.command("record")
@click.option("--dataset", required=True, help="Dataset key (see `ger-replay datasets`).")
@click.option("--manifest", required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Run folder.")
@click.option("--model", default="gpt-4-vision-preview", show_default=True)
@click.option("--base-url", default="https://api.openai.com/v1", show_default=True)
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
@click.option("--dry-run", is_flag=True, help="Show the plan; make no request.")
def record_cmd(dry_run: bool, **kw: Any) -> None:
    """Record a run (or resume it) against an OpenAI-compatible endpoint; key: OPENAI_API_KEY."""
    from ger_replay.record import recorder

    try:
        opts = recorder.options(**kw)
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
def simulate_cmd(manifest: Path, dataset: str, **kw: Any) -> None:
    """Serve a loopback OpenAI-compatible simulator answering from MANIFEST's ground truth."""
    from ger_replay.record.simulator import run_forever

    try:
        run_forever(manifest, dataset, **kw)
    except (GerReplayError, ValueError) as e:
        common.fail(e)
