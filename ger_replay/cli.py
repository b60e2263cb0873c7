"""The `ger-replay` command line: each command is a few lines over the library modules."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from ger_replay import __version__
from ger_replay.errors import GerReplayError

#: Exit codes: 0 fine, 1 a check failed (scores moved, bundle altered), 2 bad input.
EXIT_CHECK = 1
EXIT_INPUT = 2


def report_errors(errors: Sequence[BaseException]) -> None:
    """Lists every failure at the end, one per line, on stderr."""
    if not errors:
        return
    click.echo(f"\n{len(errors)} problem(s):", err=True)
    for e in errors:
        click.echo(f"  error: {e}", err=True)


def fail(e: BaseException, code: int = EXIT_INPUT) -> None:
    click.echo(f"error: {e}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ger-replay")
def main() -> None:
    """Record, replay and score zero-shot emotion recognition with multimodal LLMs."""


def _bootstrap_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--bootstrap/--confidence/--seed/--ci-method, shared by score and compare."""
    f = click.option(
        "--ci-method",
        type=click.Choice(["percentile", "bca"]),
        default="percentile",
        show_default=True,
        help="Bootstrap interval: percentile or bias-corrected and accelerated.",
    )(f)
    f = click.option(
        "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Bootstrap seed."
    )(f)
    f = click.option(
        "--confidence",
        type=click.FloatRange(0, 1, min_open=True, max_open=True),
        default=0.95,
        show_default=True,
        help="Confidence level of the interval.",
    )(f)
    return f


@main.command("score")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Bootstrap resamples for ci_low/ci_high of every run (0: no interval).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "csv", "json", "latex"]),
    default="table",
    show_default=True,
)
@click.option(
    "--missing",
    type=click.Choice(["skip", "wrong"]),
    default="skip",
    show_default=True,
    help="Unanswered samples: left out (the paper's rule) or counted as wrong.",
)
@click.option(
    "--expect", type=click.Path(path_type=Path), help="Earlier JSON scores to compare with."
)
@click.option(
    "--tolerance",
    type=float,
    default=1e-9,
    show_default=True,
    help="Largest change of a value that --expect lets pass.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not stdout.")
@click.option(
    "--labels",
    "label_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="CSV with sample_id,gt: the ground truth of runs shared without labels (repeatable).",
)
@_bootstrap_options
def score_cmd(
    paths: tuple[Path, ...],
    fmt: str,
    missing: str,
    expect: Path | None,
    tolerance: float,
    output: Path | None,
    label_files: tuple[Path, ...] = (),
    n_boot: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    ci_method: str = "percentile",
) -> None:
    """Score every run under PATHS (predictions files, run folders, bundles, released
    predictions)."""
    from ger_replay.report import tables
    from ger_replay.score import expect as expect_mod
    from ger_replay.score import sources
    from ger_replay.score.scoring import score_table

    try:
        given = sources.read_ground_truth(label_files) if label_files else None
    except GerReplayError as e:
        fail(e)
    loaded = sources.load(paths, labels=given)
    result = score_table(loaded.table, missing=missing)  # type: ignore[arg-type]
    if n_boot:
        from ger_replay.stats.bootstrap import add_table_intervals

        add_table_intervals(
            result.rows,
            loaded.table,
            n_boot,
            confidence,
            ci_method,
            seed,
            missing,  # type: ignore[arg-type]
        )
    text = tables.render(result.rows, fmt)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    errors: list[GerReplayError] = [*loaded.errors, *result.errors]
    report_errors(errors)
    if expect is not None:
        try:
            changes = expect_mod.moved(result.rows, expect_mod.read_expected(expect), tolerance)
        except GerReplayError as e:
            fail(e)
        if changes:
            click.echo(f"\n{len(changes)} run(s) moved against {expect}:", err=True)
            for line in changes:
                click.echo(f"  {line}", err=True)
            sys.exit(EXIT_CHECK)
    if errors:
        sys.exit(EXIT_INPUT)


@main.command("datasets")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "markdown", "csv", "json"]), default="table"
)
def datasets_cmd(fmt: str) -> None:
    """The 21 datasets of the benchmark: key, task, metric, test size and candidate labels."""
    from ger_replay.protocol.datasets import registry_frame
    from ger_replay.report.commands import render

    click.echo(render(registry_frame(), fmt))


@main.command("import")
@click.argument("kind", type=click.Choice(["gpt4v-emotion"]))
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Predictions table to write: .parquet or .csv.",
)
def import_cmd(kind: str, results_dir: Path, output: Path) -> None:
    """Import released predictions (the gpt4v-emotion `results/` layout) as a predictions table."""
    from ger_replay.score.writer import write_table
    from ger_replay.share.released import import_results

    try:
        df, errors = import_results(results_dir)
        write_table(df, output)
    except GerReplayError as e:
        fail(e)
    n_runs = df.get_column("run").n_unique() if df.height else 0
    click.echo(f"imported {n_runs} run(s), {df.height} rows -> {output}", err=True)
    report_errors(errors)
    if errors:
        sys.exit(EXIT_INPUT)


@main.command("pack")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@click.option("--no-labels", is_flag=True, help="Leave labels.csv (ground truth) out.")
def pack_cmd(runs: tuple[Path, ...], output: Path, no_labels: bool) -> None:
    """Pack run folders into a deterministic BUNDLE.tar.gz with a manifest of checksums."""
    from ger_replay.share.bundle import PackRefused, pack

    try:
        result = pack(runs, output, labels=not no_labels)
    except PackRefused as e:
        report_errors(e.problems)
        fail(e)
    except GerReplayError as e:
        fail(e)
    click.echo(f"packed {len(result.runs)} run(s), {result.files} files -> {output}", err=True)
    click.echo(f"sha256 {result.sha256}")


@main.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
def verify_cmd(bundle: Path) -> None:
    """Check a bundle (or run folder): checksums, schema, no secrets, no images."""
    from ger_replay.share.verify import verify

    problems = verify(bundle)
    if problems:
        report_errors(problems)
        sys.exit(EXIT_CHECK)
    click.echo(f"ok: {bundle}")


@main.command("export")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
def export_cmd(paths: tuple[Path, ...], output: Path) -> None:
    """Write the predictions table with provenance (.parquet, .csv or .jsonl by extension)."""
    from ger_replay.share.export import export

    try:
        got = export(paths, output)
    except GerReplayError as e:
        fail(e)
    click.echo(f"exported {got.table.height} rows -> {output}", err=True)
    report_errors(got.errors)
    if got.errors:
        sys.exit(EXIT_INPUT)


@main.command("manifest")
@click.argument("dataset")
@click.option(
    "--media",
    required=True,
    type=click.Path(path_type=Path),
    help="The dataset's folder as its authors distribute it.",
)
@click.option(
    "--tests",
    type=click.Path(path_type=Path),
    help="The released predictions folder (results/): the test list and labels.",
)
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="CSV name,gt: the test list of a dataset with no released list.",
)
@click.option(
    "--text",
    type=click.Path(path_type=Path),
    help="CSV of the transcripts (multimodal and tweet datasets); default: <name>.txt files.",
)
@click.option(
    "--text-columns",
    default="name,text",
    show_default=True,
    help="The name and text columns of --text.",
)
@click.option(
    "--agree",
    type=click.Choice(["five", "four", "three"]),
    default="three",
    show_default=True,
    help="Twitter I: the agreement list (three holds the other two).",
)
@click.option(
    "--prefer",
    type=click.Choice(["files", "frames"]),
    help="Video datasets: a video file or a frame folder when a clip has both.",
)
@click.option("--allow-missing", is_flag=True, help="Write the samples that have media.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
def manifest_cmd(
    dataset: str,
    media: Path,
    tests: Path | None,
    labels: Path | None,
    text: Path | None,
    text_columns: str,
    agree: str,
    prefer: str | None,
    allow_missing: bool,
    output: Path,
) -> None:
    """The manifest of DATASET's test set, its media found under --media."""
    from ger_replay.record.manifest_build import build

    cols = tuple(c.strip() for c in text_columns.split(","))
    try:
        if len(cols) != 2 or not all(cols):
            raise GerReplayError("--text-columns: expected NAME,TEXT")
        got = build(
            dataset,
            media,
            output,
            tests=tests,
            labels=labels,
            text=text,
            text_columns=cols,  # type: ignore[arg-type]
            allow_missing=allow_missing,
            prefer=prefer,
            agree=agree,
        )
    except GerReplayError as e:
        fail(e)
    click.echo(f"{got.written} sample(s) -> {output} (test list: {got.tests_from})", err=True)
    if got.missing:
        click.echo(f"left out, no media ({len(got.missing)}):", err=True)
        for m in got.missing:
            click.echo(f"  {m}", err=True)


@main.command("record")
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
    **kw: object,
) -> None:
    """Record a run (or resume it) against an OpenAI-compatible endpoint; key: OPENAI_API_KEY."""
    from ger_replay.record import recorder

    if plan_file is not None:
        _record_plan(plan_file, dry_run, no_preflight, allow_endpoint_change)
        return
    missing = [f"--{k}" for k in ("dataset", "manifest", "out") if kw.get(k) is None]
    if missing:
        fail(GerReplayError(f"record needs {', '.join(missing)} (or --plan FILE)"))
    try:
        opts = recorder.options(**kw)  # type: ignore[arg-type]
        opts.preflight = not no_preflight
        opts.allow_endpoint_change = allow_endpoint_change
        if dry_run:
            click.echo("\n".join(recorder.plan(opts).lines()))
            return
        summary = recorder.record(opts)
    except GerReplayError as e:
        fail(e)
    click.echo("\n".join(recorder.summary_lines(summary)), err=True)
    report_errors(summary.errors)
    if not summary.complete:
        sys.exit(EXIT_CHECK)


def _record_plan(path: Path, dry_run: bool, no_preflight: bool, allow_change: bool) -> None:
    """`record --plan FILE`: every cell of the sweep, then one summary."""
    from dataclasses import replace

    from ger_replay.record import sweep

    try:
        cells = sweep.cells(path)
    except GerReplayError as e:
        fail(e)
    if dry_run:
        rows = sweep.dry_run(cells)
        click.echo("\n".join(sweep.dry_run_lines(rows)))
        if any("error" in r for r in rows):
            sys.exit(EXIT_INPUT)
        return
    cells = [
        replace(
            c,
            options=replace(
                c.options, preflight=not no_preflight, allow_endpoint_change=allow_change
            ),
        )
        for c in cells
    ]
    outcomes = sweep.run(cells, lambda c: click.echo(f"== {c.name}", err=True))
    click.echo("\n".join(sweep.summary_lines(outcomes)), err=True)
    if any(o.status == "error" for o in outcomes):
        sys.exit(EXIT_INPUT)
    if any(o.status == "incomplete" for o in outcomes):
        sys.exit(EXIT_CHECK)


@main.command("replay")
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
        fail(e, EXIT_CHECK)
    except GerReplayError as e:
        fail(e)
    click.echo(
        f"replayed {got.batches} batch(es), {got.calls} call(s): {got.answered} answered, "
        f"{got.unanswered} unanswered; every request had its recording",
        err=True,
    )


@main.command("simulate")
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
    manifest: Path, dataset: str, models: tuple[str, ...], key_env: str | None, **kw: object
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
        run_forever(manifest, dataset, **kw)  # type: ignore[arg-type]
    except (GerReplayError, ValueError) as e:
        fail(e)


@main.command("parse")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--labels", help="Candidate labels, comma-separated.")
@click.option("--items", "n_items", required=True, type=click.IntRange(min=0), help="Batch size.")
@click.option("--dataset", help="Take the candidate labels of this dataset key.")
@click.option("--synonyms", type=click.Path(path_type=Path), help="CSV or JSON synonym file.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def parse_cmd(
    file: Path,
    labels: str | None,
    n_items: int,
    dataset: str | None,
    synonyms: Path | None,
    fmt: str,
) -> None:
    """Show what a saved model answer (FILE, or - for stdin) parses to."""
    from ger_replay.parsing.show import parse_file, render

    try:
        result = parse_file(file, n_items, labels, dataset, synonyms)
    except GerReplayError as e:
        fail(e)
    click.echo(render(result, fmt))


# --- analyses and reports: the work is in ger_replay.report.commands ---------------------------
_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
_RUNS = click.option("--run", "runs", multiple=True, help="Only this run (repeatable).")
_FMT = click.option(
    "--format", "fmt", type=click.Choice(["table", "markdown", "csv", "json"]), default="table"
)


@main.command("stability")
@_PATHS
@_RUNS
@_FMT
@click.option("--majority", type=click.Path(path_type=Path), help="Write the majority-vote run.")
@click.option("--no-ci", is_flag=True, help="Skip the bootstrap intervals.")
def stability_cmd(
    paths: tuple[Path, ...], runs: tuple[str, ...], fmt: str, majority: Path | None, no_ci: bool
) -> None:
    """Stability of repeated runs of one dataset and setting (agreement, spread, majority vote)."""
    from ger_replay.report import commands

    sys.exit(commands.stability_cmd(paths, runs, fmt, majority, not no_ci))


@main.command("confusion")
@_PATHS
@_RUNS
@_FMT
@click.option("--normalise", "--normalize", is_flag=True, help="Row percentages, not counts.")
def confusion_cmd(
    paths: tuple[Path, ...], runs: tuple[str, ...], fmt: str, normalise: bool
) -> None:
    """Confusion matrices (with failure columns) and class-wise recall of every run."""
    from ger_replay.report import commands

    sys.exit(commands.confusion_cmd(paths, runs, normalise, fmt))


@main.command("refusals")
@_PATHS
@_FMT
def refusals_cmd(paths: tuple[Path, ...], fmt: str) -> None:
    """Refusals, malformed answers, retries, split depth and tokens of every run."""
    from ger_replay.report import commands

    sys.exit(commands.refusals_cmd(paths, fmt))


@main.command("diff")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@_FMT
@click.option("--tolerance", type=float, default=1e-9, show_default=True)
@click.option("--limit", type=int, default=50, show_default=True, help="Changed samples shown.")
def diff_cmd(a: Path, b: Path, fmt: str, tolerance: float, limit: int) -> None:
    """Samples whose label or status changed, and metric moves, between two scorings (exit 1
    when anything changed)."""
    from ger_replay.report import commands

    sys.exit(commands.diff_cmd(a, b, fmt, tolerance, limit))


@main.command("report")
@_PATHS
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Folder.")
@click.option("--missing", type=click.Choice(["skip", "wrong"]), default="skip", show_default=True)
@click.option("--no-ci", is_flag=True, help="Skip the bootstrap intervals.")
@click.option("--seed", type=int, default=0, show_default=True)
def report_cmd(paths: tuple[Path, ...], output: Path, missing: str, no_ci: bool, seed: int) -> None:
    """Tables (Markdown, CSV, LaTeX), figures (PNG, PDF) and OUTPUT/index.html for PATHS."""
    from ger_replay.report import commands

    sys.exit(commands.report_cmd(paths, output, missing, not no_ci, seed))


@main.command("compare")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--run-a", help="Name of run A in PATHS (with --run-b).")
@click.option("--run-b", help="Name of run B in PATHS (with --run-a).")
@click.option(
    "--metric",
    type=click.Choice(["acc", "war", "uar", "waf", "macro_f1"]),
    help="Default: the dataset's metric.",
)
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=1), default=10000, show_default=True)
@_bootstrap_options
@click.option("--missing", type=click.Choice(["skip", "wrong"]), default="skip", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def compare_cmd(
    paths: tuple[Path, ...],
    run_a: str | None,
    run_b: str | None,
    metric: str | None,
    n_boot: int,
    confidence: float,
    seed: int,
    ci_method: str,
    missing: str,
    fmt: str,
) -> None:
    """Paired comparison of two runs on the same samples: B minus A, its bootstrap interval, a
    two-sided bootstrap p-value, the exact McNemar test for accuracy and per-class agreement.
    PATHS are two paths of one run each, or any inputs of `score` with --run-a/--run-b. Without
    names, PATHS holding more than two runs give the table for sets of runs that differ in one
    setting (template, color, frames, modality)."""
    from ger_replay.analysis import paired
    from ger_replay.report import commands

    if run_a is None and run_b is None:
        from ger_replay.score import sources

        loaded = sources.load(paths)
        if paired.holds_many_runs(loaded.table):
            sys.exit(commands.sets_cmd(loaded, paths, fmt, missing, seed))
    try:
        a, b, errors = paired.load_pair(paths, run_a, run_b)
        result = paired.compare_runs(
            a,
            b,
            metric,
            n_boot,
            confidence,
            ci_method,
            seed,
            missing,  # type: ignore[arg-type]
        )
    except GerReplayError as e:
        fail(e)
    click.echo(paired.render(result, fmt))
    report_errors(errors)
    if errors:
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":
    main()
