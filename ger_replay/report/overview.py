"""The overview figure of the report, in the spirit of the paper's Figure 1: per dataset, the
Random and Majority baselines, the best supervised system and GPT-4V as the paper reports them,
and every run of the report."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from ger_replay.protocol import datasets, reference
from ger_replay.report.figure_style import PALETTE, new_figure, styled, wrap

OVERVIEW_BARS = (
    ("Random", "#BBBBBB"),
    ("Majority", "#777777"),
    ("Best supervised (paper)", "#009E73"),
    ("GPT-4V (paper)", "#0072B2"),
)


def overview_values(scores: pl.DataFrame) -> pl.DataFrame:
    """Per dataset column (registry order): our Random and Majority, the paper's best
    supervised system and its GPT-4V number (that of the first run of the column the paper has
    one for; else the dataset's GPT-4V number in the paper's main table)."""
    order = {k: i for i, k in enumerate(datasets.DATASETS)}
    out = []
    for sub in scores.partition_by("column", maintain_order=True):
        first = sub.row(0, named=True)
        best = reference.best_supervised(first["dataset"], first["run"])
        paper = sub.get_column("paper").drop_nulls()
        if paper.len():
            gpt: float | None = float(paper[0])
        else:
            variant = reference.level_variant(first["dataset"], first["run"])
            rows = reference.load().select(first["dataset"], reference.Kind.GPT4V, variant)
            gpt = rows[0].value if rows else None
        out.append(
            {
                "column": first["column"],
                "dataset": first["dataset"],
                "subset": first["subset"],
                "metric": first["metric"],
                "Random": first["random"],
                "Majority": first["majority"],
                "Best supervised (paper)": best.value if best else None,
                "best_supervised_model": best.model if best else None,
                "GPT-4V (paper)": gpt,
            }
        )
    level = {"": 0, "5 agree": 1, "4 agree": 2, "3 agree": 3}
    out.sort(key=lambda r: (order.get(r["dataset"], 99), level.get(r["subset"] or "", 9)))
    schema = {
        "column": pl.String,
        "dataset": pl.String,
        "subset": pl.String,
        "metric": pl.String,
        **{name: pl.Float64 for name, _ in OVERVIEW_BARS},
        "best_supervised_model": pl.String,
    }
    return pl.DataFrame(out, schema=schema).select(list(schema))


@styled
def overview_figure(scores: pl.DataFrame, model_of: dict[str, str]) -> Figure:
    """The paper's Figure 1 in spirit: per dataset, bars for Random, Majority, the best
    supervised system and the paper's GPT-4V, and a marker per run of every model in the
    report (`model_of`: run -> model name)."""
    vals = overview_values(scores)
    cols = vals.get_column("column").to_list()
    fig, ax = new_figure(max(6.0, 0.75 * len(cols) + 3.5), 4.2)
    width = 0.8 / len(OVERVIEW_BARS)
    x = np.arange(len(cols))
    for k, (name, color) in enumerate(OVERVIEW_BARS):
        ys = [np.nan if v is None else v for v in vals.get_column(name).to_list()]
        ax.bar(x - 0.4 + width * (k + 0.5), ys, width, color=color, label=name)
    models = list(dict.fromkeys(model_of[r] for r in scores.get_column("run")))
    pos = {c: i for i, c in enumerate(cols)}
    for m, model in enumerate(models):
        pts = [
            (pos[r["column"]], r["value"])
            for r in scores.iter_rows(named=True)
            if model_of[r["run"]] == model and r["value"] is not None
        ]
        if pts:
            px, py = zip(*pts, strict=True)
            ax.scatter(
                px,
                py,
                marker="D",
                s=28,
                zorder=3,
                color=PALETTE[(m + 5) % len(PALETTE)],
                edgecolors="white",
                linewidths=0.6,
                label=model,
            )
    metrics = vals.get_column("metric").to_list()
    ax.set_xticks(x, [f"{wrap(c, 12)}\n({m})" for c, m in zip(cols, metrics, strict=True)])
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(-0.6, len(cols) - 0.4)
    ax.set_title("Every dataset: baselines, the paper's numbers and the runs of this report")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
