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
@click.option("--dataset", required=True, help="Dataset key (see `ger-replay datasets`).")
@click.option(
    "--manifest",
    required=True,
    type=click.Path(path_type=Path),
    help="CSV listing the test samples: sample id, ground truth and media path(s).",
)
@click.option(
    "-o",
    "--output",
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
    "--model",
    default="gpt-4-vision-preview",
    show_default=True,
    help="Model name sent to the endpoint.",
)
@click.option(
    "--base-url",
    default="https://api.openai.com/v1",
    show_default=True,
    help="Address of the OpenAI-compatible endpoint.",
)
@click.option(
    "--template",
    default="1",
    show_default=True,
    help="Prompt wording: the paper's template 1, 2 or 3, or a file holding your own.",
)
@click.option(
    "--frames",
    type=int,
    default=3,
    show_default=True,
    help="Frames taken from each video.",
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
    "--concurrency",
    type=int,
    default=1,
    show_default=True,
    help="Requests in flight at once.",
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
    "--dry-run", is_flag=True, help="Show what would be sent and what it costs; send nothing."
)
def record_cmd(dry_run: bool, output: Path | None, old_out: Path | None, **kw: Any) -> None:
    """Record a run (or resume it) against an OpenAI-compatible endpoint; key: OPENAI_API_KEY."""
    from ger_replay.record import recorder

    out = output or old_out
    if out is None:
        common.fail(InputError("missing -o/--output: the run folder to write"))
    try:
        opts = recorder.options(out=out, **kw)
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
@click.option(
    "--refuse-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests answered with a refusal.",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of answers leaving one item out (a count mismatch).",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests answered with a server error (HTTP 500).",
)
@click.option(
    "--slow-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests answered late (see --slow-seconds).",
)
@click.option(
    "--slow-seconds",
    type=float,
    default=2.0,
    show_default=True,
    help="How late a slow answer comes.",
)
@click.option(
    "--cut-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests whose connection is cut without an answer.",
)
@click.option(
    "--invent-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of items whose ranking starts with a label that is not a candidate.",
)
@click.option(
    "--rpm-limit",
    type=float,
    help="Requests per minute above which the simulator answers 429 (too many requests).",
)
def simulate_cmd(manifest: Path, dataset: str, **kw: Any) -> None:
    """Serve a loopback OpenAI-compatible simulator answering from MANIFEST's ground truth
    (until Ctrl-C)."""
    from ger_replay.record.simulator import run_forever

    try:
        run_forever(manifest, dataset, **kw)
    except (GerReplayError, ValueError) as e:
        common.fail(e)
    except OSError as e:
        host, port = kw.get("host"), kw.get("port")
        common.fail(InputError(f"cannot listen on {host}:{port}: {e.strerror or e}"))
