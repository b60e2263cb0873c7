"""What every command shares: exit codes, the error printer, output, loading and the options
several commands take."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ger_replay.errors import GerReplayError, some_names

if TYPE_CHECKING:  # polars and the loader load when a command runs, not with `--help`
    import polars as pl

    from ger_replay.io.load import LoadResult

#: Exit codes: 0 fine, 1 a check failed (scores moved, bundle altered, diff found), 2 bad input,
#: 130 stopped by Ctrl-C or SIGTERM.
EXIT_OK = 0
EXIT_CHECK = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130

FORMATS = ("table", "markdown", "csv", "json")


def shown(text: object) -> str:
    """Text fit for the terminal: no secret, no control sequence from a stranger's name."""
    from ger_replay.io.neutral import terminal
    from ger_replay.io.scrub import scrub_text

    return terminal(scrub_text(str(text)))


def echo(text: object = "", err: bool = False) -> None:
    """`click.echo` of `shown(text)`: every line the tool prints goes through here."""
    click.echo(shown(text), err=err)


def report_errors(errors: Sequence[object]) -> None:
    """Lists every failure at the end, one per line, on stderr."""
    if not errors:
        return
    echo(f"\n{len(errors)} problem(s):", err=True)
    for e in errors:
        echo(f"  error: {e}", err=True)


def fail(e: BaseException, code: int = EXIT_INPUT) -> NoReturn:
    """Prints one error and exits with `code`."""
    echo(f"error: {e}", err=True)
    sys.exit(code)


def guarded(fn: Callable[[], int]) -> NoReturn:
    """Runs a command body and exits with its code; an input problem becomes a message and
    exit 2, not a traceback."""
    try:
        code = fn()
    except GerReplayError as e:
        fail(e)
    sys.exit(code)


def exit_for(errors: Sequence[object]) -> None:
    """Exit 2 when anything could not be read (after everything that could was shown)."""
    if errors:
        sys.exit(EXIT_INPUT)


def emit(text: str, output: Path | None = None) -> None:
    """Writes `text` to `output` (whole or not at all), or to stdout."""
    if output:
        from ger_replay.io.atomic import atomic_write_text, write_error
        from ger_replay.io.scrub import scrub_text

        try:
            atomic_write_text(output, scrub_text(text + "\n"))
        except OSError as e:
            fail(write_error(e, output))
    else:
        echo(text)


def show(parts: Sequence[tuple[str, pl.DataFrame]], fmt: str, rules: str | None = None) -> None:
    """Titled DataFrames in one of `FORMATS` on stdout; `rules` names the rule set that made
    them (a `rules` field in JSON, a line under the tables otherwise)."""
    from ger_replay.report.text_tables import render_text

    if fmt == "json":
        from ger_replay.report.text_tables import to_json

        out: dict[str, object] = {k: v.to_dicts() for k, v in parts}
        if rules is not None:
            out["rules"] = rules
        echo(to_json(out))
        return
    for i, (title, df) in enumerate(parts):
        if i:
            echo("")
        if fmt != "csv":
            echo(f"## {title}" if fmt == "markdown" else f"{title}:")
        else:
            echo(f"# {title}")
        echo(render_text(df, fmt))
    if rules is not None:
        from ger_replay.protocol.rulesets import describe

        echo(("# " if fmt == "csv" else "\n") + describe(rules))


def load(paths: Sequence[Path], label_files: Sequence[Path] = (), note: bool = True) -> LoadResult:
    """Everything under `paths` (`--labels` files give the ground truth of runs shared without
    it); a bad labels file ends the command. With `note`, synthetic and partial runs among
    them are named on stderr (commands whose tables flag them pass False)."""
    from ger_replay.io.load import load as load_paths
    from ger_replay.io.load import read_ground_truth

    try:
        given = read_ground_truth(label_files) if label_files else None
    except GerReplayError as e:
        fail(e)
    got = load_paths(paths, labels=given)
    if note and got.table.height:
        _note_flags(got.table)
    return got


def _note_flags(df: pl.DataFrame) -> None:
    from ger_replay.score.scoring import PARTIAL_BELOW, flagged

    synthetic, partial = sorted(flagged(df, "synthetic")), sorted(flagged(df, "partial"))
    if synthetic:
        echo(
            f"note: SYNTHETIC run(s), answered by the simulator, not a model: "
            f"{some_names(synthetic)}",
            err=True,
        )
    if partial:
        echo(
            f"note: partial run(s), under {PARTIAL_BELOW:.0%} of the samples answered: "
            f"{some_names(partial)}",
            err=True,
        )


def bootstrap_options(f: Callable[..., Any]) -> Callable[..., Any]:
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


PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
RUNS = click.option(
    "--run", "runs", multiple=True, help="Only the run of this name (repeatable; default: all)."
)
FMT = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output style: an aligned table, Markdown, CSV or JSON.",
)
FMT_LATEX = click.option(
    "--format",
    "fmt",
    type=click.Choice((*FORMATS, "latex")),
    default="table",
    show_default=True,
    help="Output style: an aligned table, Markdown, CSV, JSON or a LaTeX tabular.",
)
OUTPUT = click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write to this file, not the terminal."
)


class Interrupted(KeyboardInterrupt):
    """SIGTERM, turned into the same stop as Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Interrupted


def stop_on_sigterm() -> None:
    """SIGTERM ends a command the way Ctrl-C does (exit 130, one line); `record` and `simulate`
    install their own handlers while they run."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def interrupted(e: KeyboardInterrupt, command: str | None = None) -> NoReturn:
    """The one way a command ends on Ctrl-C or SIGTERM: a line on stderr and exit 130 (not
    click's `Aborted!` and exit 1, which reads as a failed check)."""
    how = "SIGTERM" if isinstance(e, Interrupted) else "Ctrl-C"
    hint = (
        "; finished batches are kept: run the same command again to resume"
        if command == "record"
        else ""
    )
    echo(f"\nstopped by {how} (exit {EXIT_INTERRUPTED}){hint}", err=True)
    sys.exit(EXIT_INTERRUPTED)


#: The rule sets of `ger_replay.protocol.rulesets` (named here so that `--help` loads nothing;
#: tests/test_rulesets.py checks the two lists agree), the paper's first.
RULE_SETS = ("paper", "strict", "lenient")
RULES = click.option(
    "--rules",
    type=click.Choice(RULE_SETS),
    default=RULE_SETS[0],
    show_default=True,
    help="Scoring rule set: paper (the paper's rules: first label only; an invalid first label "
    "wrong on image and multimodal tasks, left out on video datasets; unanswered left out), "
    "strict (every test sample scored, anything unusable wrong) or lenient (first candidate of "
    "the ranking; nothing usable left out).",
)
