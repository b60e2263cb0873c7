"""`ger-replay report PATH... -o DIR`: every analysis that the runs allow, written as files and
one self-contained `DIR/index.html`.

DIR/tables/   paper tables (one per task) and analysis tables, each as .md, .csv and .tex
DIR/figures/  every figure as .png and .pdf
DIR/index.html
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ger_replay._version import __version__
from ger_replay.analysis import confusion, consistency, refusals, robustness, runsets, stability
from ger_replay.errors import GerReplayError
from ger_replay.io.atomic import atomic_write_text
from ger_replay.io.neutral import CONTROL_PATTERN
from ger_replay.io.runs import RecordedCalls
from ger_replay.io.scrub import scrub_text
from ger_replay.io.swap import fresh_folder
from ger_replay.io.writer import write_table
from ger_replay.protocol.rulesets import RuleSet, describe
from ger_replay.protocol.status import SAMPLE_STATUSES, Status
from ger_replay.report import (
    bounds,
    figure_style,
    figures,
    html,
    overview,
    paper,
    run_pages,
    text_tables,
)
from ger_replay.report.html import Block, FigureRef, Section, esc
from ger_replay.report.summary import summary_lines


@dataclass
class ReportResult:
    out_dir: Path
    index: Path
    files: list[Path] = field(default_factory=list)
    #: analyses left out, and why (e.g. no repeated runs for stability)
    notes: list[str] = field(default_factory=list)
    #: runs that could not be analysed
    errors: list[GerReplayError] = field(default_factory=list)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "x"


class _Writer:
    def __init__(self, out: Path, formats: Sequence[str]) -> None:
        self.out = out
        self.formats = formats
        self.tables = out / "tables"
        self.figs = out / "figures"
        self.files: list[Path] = []

    def text(self, rel: Path, text: str) -> Path:
        p = self.out / rel
        atomic_write_text(p, scrub_text(text if text.endswith("\n") else text + "\n"))
        self.files.append(p)
        return p

    def frame(self, stem: str, df: pl.DataFrame) -> list[Path]:
        return [
            self.text(Path("tables") / f"{stem}.md", text_tables.to_markdown(df)),
            self.text(Path("tables") / f"{stem}.csv", text_tables.to_csv(df)),
            self.text(Path("tables") / f"{stem}.tex", text_tables.to_latex(df)),
        ]

    def figure(self, fig: figures.Figure, stem: str, caption: str) -> FigureRef:
        paths = figure_style.save(fig, self.figs, stem, self.formats)
        self.files.extend(paths)
        return FigureRef(paths[0], caption, paths)


def build_report(
    df: pl.DataFrame,
    out_dir: Path,
    calls: Sequence[RecordedCalls] = (),
    rules: RuleSet | str = "paper",
    ci: bool = True,
    seed: int = 0,
    figure_formats: Sequence[str] = ("png", "pdf"),
) -> ReportResult:
    """Writes the report of every run in `df` into `out_dir`, whole: into a fresh folder that
    replaces an earlier report only once complete (`io.swap`). `calls` are the recorded calls a
    load read with the runs (`load(paths).calls`): recorded run folders add calls and tokens.
    Figures are written in `figure_formats`; PNG is always among them (the page embeds it).
    Partial runs are left out of the figures, stability and the summary's counts."""
    out_dir = Path(out_dir)
    # names from strangers: no control sequence reaches a figure, a page or a table
    df = df.with_columns(
        pl.col(c).str.replace_all(CONTROL_PATTERN, "")
        for c in ("run", "model")
        if c in df.columns and df.schema[c] == pl.String
    )
    formats = ["png", *(f for f in figure_formats if f != "png")]
    with fresh_folder(out_dir, MARKER, EARLIER_REPORT) as tmp:
        w = _Writer(tmp, formats)
        notes: list[str] = []
        scores = runsets.score_runs(df, rules, ci, seed=seed)
        partial = scores.filter(pl.col("partial")).get_column("run")
        whole = df.filter(~pl.col("run").is_in(partial.implode()))
        ref_data = refusals.refusals(df, calls)
        sections = [
            _scores_section(w, scores, rules),
            _failures_section(w, ref_data, notes),
            _stability_section(w, whole, rules, ci, seed, notes),
            _robustness_section(w, df, rules, ci, seed, notes),
            _consistency_section(w, df, rules, notes),
            _confusion_section(w, df, rules, scores, notes),
            run_pages.runs_section(df, scores, calls, w.text, slug, notes),
        ]
        summary = summary_lines(scores, ref_data.statuses)
        if notes:
            summary.append("Not shown: " + esc("; ".join(notes)) + ".")
        page = html.render_page(
            "Emotion recognition benchmark report",
            f"{scores.height} run(s) over {scores.get_column('dataset').n_unique()} dataset(s); "
            f"{describe(rules)}; ger-replay {__version__}",
            summary,
            [s for s in sections if s is not None],
            tmp,
        )
        w.text(Path("index.html"), page)
    files = [out_dir / p.relative_to(tmp) for p in w.files]
    return ReportResult(out_dir, out_dir / "index.html", files, notes)


#: The file that marks a report folder (only such a folder, or an empty one, is replaced).
MARKER = ".ger-replay-report"
#: What a report folder of an earlier version holds (no marker yet): replaced too.
EARLIER_REPORT = frozenset({"index.html", "tables", "figures"})


def _scores_section(w: _Writer, scores: pl.DataFrame, rules: RuleSet | str) -> Section:
    """The paper tables and the score figures."""
    out_dir = w.out
    labels = paper.row_labels(scores)
    sec = Section(
        "Results by task",
        "One table per task in the paper's layout: a column per dataset, a row per setting; "
        "first our Random and Majority baselines on the full labelled test set (Random: the "
        "expected score of a uniform guess), then the paper's GPT-4V and the best supervised "
        "system the paper quotes, then every run. "
        + esc(describe(rules))
        + ". The interval is a 95% bootstrap interval where computed; scored/total is shown "
        "where samples are left out.",
    )
    for t in paper.paper_tables(scores):
        stem = t.slug
        files = [
            w.text(Path("tables") / f"{stem}.md", paper.to_markdown(t)),
            w.text(Path("tables") / f"{stem}.csv", paper.to_csv(t)),
            w.text(Path("tables") / f"{stem}.tex", paper.to_latex(t)),
        ]
        sec.blocks.append(
            Block(f"<h3>{esc(t.title)}</h3>" + html.paper_table_html(t, files, out_dir))
        )
        sub = scores.filter((pl.col("task") == t.task) & ~pl.col("partial"))
        if sub.height == 0:
            continue
        sub, which = bounds.shown(sub, scores)
        fig = figures.scores_figure(sub, labels, t.title)
        ref = w.figure(
            fig,
            f"scores_{t.task}",
            f"{t.title}: score of {which} (partial runs left out) with its interval; "
            "dashed: Random, dotted: Majority.",
        )
        sec.blocks.append(Block(figure=ref))
    w.frame("overview", overview.overview_values(scores))
    whole = scores.filter(~pl.col("partial"))
    model_of = {r["run"]: str(r["model"] or "model") for r in whole.iter_rows(named=True)}
    if whole.height:
        over_ref = w.figure(
            overview.overview_figure(whole, model_of),
            "overview",
            "Per dataset: our Random and Majority baselines, the best supervised system and "
            "GPT-4V as the paper reports them, and every whole run of this report (diamonds, one "
            "colour per model; partial runs left out).",
        )
        sec.blocks.insert(0, Block(figure=over_ref))
    w.frame("scores", scores)
    return sec


def _failures_section(w: _Writer, ref_data: refusals.Refusals, notes: list[str]) -> Section:
    st = ref_data.statuses
    w.frame("statuses", st)
    sec = Section(
        "Refusals and failures",
        "Samples by status, per run. <em>malformed</em> = count mismatch + unparseable; "
        "<em>with_invented</em> = rankings holding labels outside the candidates.",
    )
    fail_cols = [s.value for s in SAMPLE_STATUSES if s != Status.OK]
    ref = w.figure(
        figures.failures_figure(st.select("run", "n_samples", *fail_cols)),
        "failures",
        "Share of each run's samples with no usable answer, by kind.",
    )
    sec.blocks.append(Block(figure=ref))
    sec.blocks.append(Block(html.frame_html(st)))
    if ref_data.calls.height:
        w.frame("calls", ref_data.calls)
        w.frame("refusal_wordings", ref_data.wordings)
        sec.blocks.append(
            Block("<h3>Calls and tokens (recorded runs)</h3>" + html.frame_html(ref_data.calls))
        )
        if ref_data.wordings.height:
            sec.blocks.append(
                Block("<h3>Refusal wordings</h3>" + html.frame_html(ref_data.wordings))
            )
    else:
        notes.append("calls, retries and tokens: no recorded run folder among the inputs")
    return sec


def _stability_section(
    w: _Writer, df: pl.DataFrame, rules: RuleSet | str, ci: bool, seed: int, notes: list[str]
) -> Section | None:
    sets = runsets.repeat_sets(df)
    if not sets:
        notes.append("stability: no two runs share a dataset and setting")
        return None
    sec = Section(
        "Stability across repeated runs",
        "Runs of one dataset and setting. Agreement: how many runs gave a sample's most "
        "frequent label (the paper's Figure 3). The majority-vote run is written as "
        "<code>tables/*_majority.csv</code> predictions and scores like any other run.",
    )
    drawn, note = bounds.largest(sets)
    notes.extend([note] if note else [])
    summaries = [
        _stability_set(w, sec, df, runs, rules, ci, seed)
        if i in drawn
        else stability.stability(df.filter(pl.col("run").is_in(runs)), rules, ci, seed).summary
        for i, runs in enumerate(sets)
    ]
    w.frame("stability_summary", pl.concat(summaries, how="diagonal_relaxed"))
    return sec


def _stability_set(
    w: _Writer,
    sec: Section,
    df: pl.DataFrame,
    runs: Sequence[str],
    rules: RuleSet | str,
    ci: bool,
    seed: int,
) -> pl.DataFrame:
    """One set of repeated runs: its tables and figures; returns its summary."""
    s = stability.stability(df.filter(pl.col("run").is_in(runs)), rules, ci, seed)
    stem = f"stability_{slug(s.dataset)}_{slug(runs[0])}"
    w.frame(f"{stem}_histogram", s.histogram)
    w.frame(f"{stem}_runs", s.per_run)
    w.frame(f"{stem}_flips", s.flips(20))
    maj = w.out / "tables" / f"{stem}_majority.csv"
    write_table(s.majority, maj)
    w.files.append(maj)
    sec.blocks.append(
        Block(f"<h3>{esc(s.dataset)}: {len(runs)} runs</h3>" + html.frame_html(s.summary))
    )
    sec.blocks.append(
        Block(
            figure=w.figure(
                figures.stability_histogram(s),
                f"{stem}_hist",
                "Samples by the number of runs agreeing on their most frequent label.",
            )
        )
    )
    sec.blocks.append(
        Block(
            figure=w.figure(
                figures.stability_runs(s),
                f"{stem}_runs",
                "Metric of each run with its interval; diamond: majority vote.",
            )
        )
    )
    sec.blocks.append(Block(html.frame_html(s.flips(20)), fold="Samples that flip most"))
    return s.summary


def _robustness_section(
    w: _Writer, df: pl.DataFrame, rules: RuleSet | str, ci: bool, seed: int, notes: list[str]
) -> Section | None:
    rob = robustness.robustness(df, rules=rules, ci=ci, seed=seed)
    if rob.height:
        w.frame("robustness", rob)
        sec = Section(
            "Robustness: template, color, frames, modality",
            "Runs of one dataset that differ in one factor only. Delta is against the reference "
            "level (template 1, RGB, most frames, video+text), with a paired bootstrap interval "
            "and p-value on the shared samples where computed.",
        )
        for factor in rob.get_column("factor").unique(maintain_order=True).to_list():
            wide = robustness.wide(rob, factor)
            w.frame(f"robustness_{factor}", wide)
            sec.blocks.append(Block(f"<h3>{esc(factor)}</h3>" + html.frame_html(wide)))
            sec.blocks.append(
                Block(
                    figure=w.figure(
                        figures.robustness_figure(rob, factor),
                        f"robustness_{factor}",
                        f"Score by {factor}, with intervals.",
                    )
                )
            )
        sec.blocks.append(Block(html.frame_html(rob.drop("fixed")), fold="All robustness rows"))
        return sec
    notes.append("robustness: no runs differ in exactly one of template, color, frames, modality")
    return None


def _consistency_section(
    w: _Writer, df: pl.DataFrame, rules: RuleSet | str, notes: list[str]
) -> Section | None:
    pairs = consistency.color_pairs(df)
    if pairs:
        sec = Section(
            "Consistency between RGB and grayscale",
            "Per true class: share of the samples both runs answered on which they agree "
            "(the paper's Figure 5).",
        )
        if len(pairs) > bounds.FIGURE_LIMIT:
            notes.append(f"consistency: the first {bounds.FIGURE_LIMIT} of {len(pairs)} pairs")
        for a, b in pairs[: bounds.FIGURE_LIMIT]:
            c = consistency.consistency(df, a, b, rules)
            stem = f"consistency_{slug(a)}"
            w.frame(stem, c.per_class)
            sec.blocks.append(Block(f"<h3>{esc(a)} vs {esc(b)}</h3>" + html.frame_html(c.summary)))
            sec.blocks.append(
                Block(
                    figure=w.figure(
                        figures.consistency_figure(
                            c.per_class, a, b, f"{_ds(c.dataset)}: RGB vs grayscale"
                        ),
                        stem,
                        "Per-class agreement of the two runs, beside each run's recall.",
                    )
                )
            )
        return sec
    notes.append("consistency: no RGB/grayscale pair of runs")
    return None


def _confusion_section(
    w: _Writer, df: pl.DataFrame, rules: RuleSet | str, scores: pl.DataFrame, notes: list[str]
) -> Section:
    long = confusion.confusion(df, rules)
    w.frame("confusion", long)
    rec = confusion.class_recall(df, rules)
    w.frame("class_recall", rec)
    sec = Section(
        "Confusion and class-wise recall",
        "Rows: true class; columns: predicted class, then samples without a usable answer by "
        "kind (right of the orange line). Cells: percent of the row (count).",
    )
    for ds_key in rec.get_column("dataset").unique(maintain_order=True).to_list():
        sub, _ = bounds.shown(rec.filter(pl.col("dataset") == ds_key), scores)
        sec.blocks.append(
            Block(
                figure=w.figure(
                    figures.recall_figure(sub, f"{_ds(ds_key)}: recall by class"),
                    f"recall_{slug(ds_key)}",
                    "Recall of each class, per run (n = test samples of the class).",
                )
            )
        )
    picked, note = bounds.confusion_runs(
        long.get_column("run").unique(maintain_order=True).to_list(), scores
    )
    notes.extend([note] if note else [])
    for run in picked:
        sub = long.filter(pl.col("run") == run)
        stem = f"confusion_{slug(run)}"
        w.frame(stem, confusion.wide(sub, "count"))
        ref = w.figure(figures.confusion_figure(sub, run), stem, f"Confusion of {run}.")
        sec.blocks.append(Block(figure=ref, fold=f"Confusion: {run}"))
    return sec


def _ds(key: str) -> str:
    from ger_replay.protocol import datasets

    return datasets.get(key).name
