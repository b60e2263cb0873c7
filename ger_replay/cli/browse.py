"""`runs` and `show`: what runs there are, and what one run (or one sample of it) holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ger_replay.cli import common
from ger_replay.errors import InputError

if TYPE_CHECKING:
    from ger_replay.io.sample_calls import SampleCall


@click.command("runs")
@common.PATHS
@common.FMT
def runs_cmd(paths: tuple[Path, ...], fmt: str) -> None:
    """One line per run under PATHS: dataset, model, setting, batches done of planned, samples
    answered, samples scored, tokens used, their cost where the price is known, and the flags
    SYNTHETIC and partial."""
    from ger_replay.analysis.overview import overview_of_counts, runs_overview
    from ger_replay.io import scan

    def go() -> int:
        if len(paths) == 1 and scan.is_scannable(paths[0]):
            # one predictions file or folder of Parquet parts: one streaming pass, not a load
            from ger_replay.score.run_counts import run_counts

            got = scan.scan(paths)
            counts, errors = run_counts(got.sources)
            errors = [*got.errors, *errors]
            overview = overview_of_counts(counts) if counts.height else None
        else:
            loaded = common.load(paths, note=False)
            errors = loaded.errors
            overview = None
            if loaded.table.height:
                overview = runs_overview(loaded.table, loaded.provenance, loaded.calls)
        if overview is not None:
            common.show([("runs", overview)], fmt)
        common.report_errors(errors)
        if overview is None:
            raise InputError("no runs under " + ", ".join(map(str, paths)))
        return common.EXIT_INPUT if errors else common.EXIT_OK

    common.guarded(go)


@click.command("show")
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("sample", required=False)
@click.option(
    "--media",
    type=click.Path(path_type=Path),
    help="The manifest the run was recorded from: lists the sample's media files and checks "
    "them against the recorded image digests.",
)
@click.option(
    "--thumbs",
    type=click.Path(path_type=Path),
    help="With --media: write small JPEG thumbnails of what was sent into this folder.",
)
@common.FMT
def show_cmd(
    run: Path, sample: str | None, media: Path | None, thumbs: Path | None, fmt: str
) -> None:
    """Without SAMPLE: every sample of the run folder RUN with its truth, prediction and status.
    With SAMPLE: the prompt, the sample's image digests, each recorded answer, the parse, the
    ground truth and the status."""
    import polars as pl

    from ger_replay.io.sample_calls import check_sample, sample_calls

    def go() -> int:
        loaded = common.load([run])
        if loaded.errors:
            raise loaded.errors[0]
        df = loaded.table
        if df.height == 0:
            raise InputError("holds no run", run)
        names = df.get_column("run").unique(maintain_order=True).to_list()
        if len(names) > 1:
            raise InputError(f"holds {len(names)} runs ({', '.join(names)}); show one", run)
        if sample is None:
            cols = ["sample_id", "gt", "pred", "status", "attempts", "ranking"]
            common.show([(f"{df.item(0, 'run')}: samples", df.select(cols))], fmt)
            return common.EXIT_OK
        check_sample(df.get_column("sample_id").to_list(), sample, str(df.item(0, "run")))
        row = df.filter(pl.col("sample_id") == sample).row(0, named=True)
        calls = sample_calls(run, sample) if (run / "cassettes").is_dir() else []
        _print_sample(row, calls, fmt)
        if media is not None:
            _check_media(run, sample, calls, media, thumbs)
        return common.EXIT_OK

    common.guarded(go)


def _print_sample(row: dict[str, Any], calls: list[SampleCall], fmt: str) -> None:
    from ger_replay.report.text_tables import to_json

    if fmt == "json":
        out = {
            **row,
            "calls": [
                {
                    "cassette": c.cassette,
                    "interaction": c.interaction,
                    "position": c.position,
                    "items": c.n_items,
                    "http_status": c.http_status,
                    "prompt": c.prompt,
                    "parts": [{"kind": k, "value": v} for k, v in c.parts],
                    "answer": c.answer,
                }
                for c in calls
            ],
        }
        common.echo(to_json(out))
        return
    ranking = row.get("ranking") or []
    if fmt in ("markdown", "csv"):
        _sample_table(row, calls, fmt)
        return
    lines = [
        f"sample:       {row['sample_id']}  (run {row['run']}, dataset {row['dataset']})",
        f"ground truth: {row['gt']}",
        f"status:       {row['status']}",
        f"prediction:   {row['pred'] or '-'}",
        f"ranking:      {', '.join(map(str, ranking)) or '-'}",  # type: ignore[call-overload]
    ]
    if row.get("invented"):
        lines.append(f"invented:     {', '.join(row['invented'])}")  # type: ignore[arg-type]
    if row.get("synthetic"):
        lines.append("note:         SYNTHETIC run (answered by the simulator, not a model)")
    if not calls:
        lines.append("calls:        none recorded for this sample")
    prompt = None
    for i, c in enumerate(calls, start=1):
        lines += [
            "",
            f"call {i} of {len(calls)}: {c.cassette} #{c.interaction}, item {c.position} of "
            f"{c.n_items}, HTTP {c.http_status}",
        ]
        if c.prompt != prompt:
            lines += ["  prompt:", *(f"    {ln}" for ln in c.prompt.splitlines() or ["-"])]
        else:
            lines.append("  prompt: as in the call before")
        prompt = c.prompt
        lines += [
            "  sample content:",
            *(f"    {k}: {v}" for k, v in c.parts),
            "  answer (whole batch):",
            *(f"    {ln}" for ln in (c.answer or "(no answer text)").splitlines()),
        ]
    common.echo("\n".join(lines))


def _sample_table(row: dict[str, Any], calls: list[SampleCall], fmt: str) -> None:
    """One sample as a (field, value) table, for Markdown and CSV."""
    import polars as pl

    from ger_replay.report.text_tables import render_text

    pairs = [
        ("sample", row["sample_id"]),
        ("run", row["run"]),
        ("ground truth", row["gt"]),
        ("status", row["status"]),
        ("prediction", row["pred"] or ""),
        ("ranking", ", ".join(row.get("ranking") or [])),
    ]
    for i, c in enumerate(calls, start=1):
        pairs += [
            (f"call {i}", f"{c.cassette} #{c.interaction}, item {c.position} of {c.n_items}"),
            (f"call {i} images", ", ".join(c.digests)),
            (f"call {i} answer", c.answer or ""),
        ]
    df = pl.DataFrame(
        {"field": [k for k, _ in pairs], "value": [str(v) for _, v in pairs]},
        schema={"field": pl.String, "value": pl.String},
    )
    common.echo(render_text(df, fmt))


def _check_media(
    run: Path, sample: str, calls: list[SampleCall], manifest: Path, thumbs: Path | None
) -> None:
    """The sample's media files from the manifest, the digests of what the run's settings
    make of them against the recorded ones, and thumbnails if asked."""
    from ger_replay.record.sample_media import sample_media

    got = sample_media(run, manifest, sample)
    recorded = calls[-1].digests if calls else []
    common.echo("\nmedia:")
    for p in got.paths:
        common.echo(f"  file: {p}")
    same = recorded == got.digests
    common.echo(
        "  digests: " + ("match the recorded request" if same else "DIFFER from the recording")
    )
    if thumbs is not None:
        for p in got.write_thumbnails(thumbs):
            common.echo(f"  thumbnail: {p}")
