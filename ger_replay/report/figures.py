"""Figures of the report (matplotlib, headless): scores, confusion, class-wise recall, stability,
consistency, robustness and failures. Each function takes the analysis DataFrames and returns a
Figure; `save` writes it as PNG and PDF. Figures are made without pyplot (no GUI backend, no
global figure list), so this runs headless. Colours: the Okabe-Ito palette (colour-blind safe).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from ger_replay.analysis.stability import Stability
from ger_replay.report.figure_style import (
    BASELINE_COLORS,
    PALETTE,
    STATUS_COLORS,
    STATUS_NAMES,
    dataset_name,
    new_figure,
    short,
    styled,
    wrap,
)

# --- scores -------------------------------------------------------------------------------------


@styled
def scores_figure(scores: pl.DataFrame, row_labels: dict[str, str], title: str) -> Figure:
    """One task: a column per dataset, a marker per row (setting) with its interval, and the
    Random and Majority baselines as horizontal ticks. `row_labels` maps run -> row name."""
    cols = scores.get_column("column").unique(maintain_order=True).to_list()
    rows = list(dict.fromkeys(row_labels[r] for r in scores.get_column("run")))
    fig, ax = new_figure(max(4.5, 1.3 * len(cols) + 2.8), 3.6)
    width = 0.7
    step = width / max(len(rows), 1)
    for i, col in enumerate(cols):
        sub = scores.filter(pl.col("column") == col)
        first = sub.row(0, named=True)
        for name, key in (("Random", "random"), ("Majority", "majority")):
            v = first[key]
            if v is not None:
                ax.hlines(
                    v,
                    i - 0.42,
                    i + 0.42,
                    colors=BASELINE_COLORS[name],
                    linestyles="--" if name == "Random" else ":",
                    linewidth=1.4,
                    label=name if i == 0 else None,
                )
        for k, row in enumerate(rows):
            hit = [r for r in sub.iter_rows(named=True) if row_labels[r["run"]] == row]
            for r in hit:
                x = i - width / 2 + step * (k + 0.5)
                lo, hi = r["ci_low"], r["ci_high"]
                yerr = None
                if lo is not None and hi is not None:
                    yerr = [[r["value"] - lo], [hi - r["value"]]]
                ax.errorbar(
                    x,
                    r["value"],
                    yerr=yerr,
                    fmt="o",
                    color=PALETTE[k % len(PALETTE)],
                    markersize=6,
                    capsize=3,
                    elinewidth=1.2,
                    label=row if i == cols.index(_first_col(scores, row, row_labels)) else None,
                )
    metrics = [scores.filter(pl.col("column") == c).item(0, "metric") for c in cols]
    ax.set_xticks(
        range(len(cols)), [f"{wrap(c)}\n({m})" for c, m in zip(cols, metrics, strict=True)]
    )
    ax.set_xlim(-0.6, len(cols) - 0.4)
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def _first_col(scores: pl.DataFrame, row: str, row_labels: dict[str, str]) -> str:
    for r in scores.iter_rows(named=True):
        if row_labels[r["run"]] == row:
            return str(r["column"])
    return ""


# --- confusion ----------------------------------------------------------------------------------


@styled
def confusion_figure(long: pl.DataFrame, title: str) -> Figure:
    """Row-normalised confusion of one run; failure columns (refused, unparsed, unanswered ...)
    to the right of a divider, each cell annotated with its percentage and count."""
    from ger_replay.analysis.confusion import wide

    pct = wide(long, "row_percent")
    cnt = wide(long, "count")
    truth = pct.get_column("truth").to_list()
    cols = [c for c in pct.columns if c != "truth"]
    failures = set(long.filter(pl.col("failure")).get_column("predicted").to_list())
    n_cls = sum(1 for c in cols if c not in failures)
    data = pct.select(cols).to_numpy().astype(float)
    counts = cnt.select(cols).to_numpy()
    size = max(3.6, 0.62 * len(cols) + 2.2)
    fig, ax = new_figure(size, max(3.0, 0.55 * len(truth) + 1.6))
    ax.grid(False)
    im = ax.imshow(data, cmap="Blues", vmin=0, vmax=100, aspect="auto")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            v = data[i, j]
            color = "white" if v > 55 else "black"
            txt = f"{v:.0f}" if v >= 9.5 or v == 0 else f"{v:.1f}"
            ax.text(
                j, i, f"{txt}\n({counts[i, j]})", ha="center", va="center", fontsize=7, color=color
            )
    labels = [STATUS_NAMES.get(c, c) for c in cols]
    ax.set_xticks(range(len(cols)), [wrap(lab, 10) for lab in labels], rotation=45, ha="right")
    ax.set_yticks(range(len(truth)), truth)
    if n_cls < len(cols):
        ax.axvline(n_cls - 0.5, color="#D55E00", linewidth=2)
    ax.set_xlabel("predicted (left) · no usable answer (right of the line)")
    ax.set_ylabel("true class")
    ax.set_title(title)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    cb.set_label("% of the true class")
    return fig


@styled
def recall_figure(recall: pl.DataFrame, title: str) -> Figure:
    """Class-wise recall of the runs of one dataset: grouped bars, a colour per run."""
    runs = recall.get_column("run").unique(maintain_order=True).to_list()
    classes = recall.get_column("class").unique(maintain_order=True).to_list()
    fig, ax = new_figure(max(5.0, 0.75 * len(classes) * max(1, len(runs)) ** 0.5 + 3), 3.4)
    width = 0.8 / len(runs)
    x = np.arange(len(classes))
    for k, run in enumerate(runs):
        sub = {r["class"]: r for r in recall.filter(pl.col("run") == run).iter_rows(named=True)}
        vals = [sub.get(c, {}).get("recall") for c in classes]
        ax.bar(
            x - 0.4 + width * (k + 0.5),
            [v if v is not None else 0 for v in vals],
            width,
            color=PALETTE[k % len(PALETTE)],
            label=run,
        )
    support = recall.group_by("class", maintain_order=True).agg(pl.col("support").unique())
    same = all(len(v) == 1 for v in support.get_column("support").to_list())
    if same:  # runs on one test set: show each class's size
        n = dict(zip(support.get_column("class"), support.get_column("support"), strict=True))
        ticks = [f"{wrap(c, 12)}\nn={n[c][0]}" for c in classes]
    else:
        ticks = [wrap(c, 12) for c in classes]
    ax.set_xticks(x, ticks)
    ax.set_ylabel("recall (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    if len(runs) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


# --- stability ----------------------------------------------------------------------------------


@styled
def stability_histogram(s: Stability) -> Figure:
    """Figure 3a: samples by the number of runs that gave their most frequent label."""
    h = s.histogram
    n_runs = len(s.runs)
    fig, ax = new_figure(5.2, 3.4)
    x = h.get_column("agreement").to_numpy()
    y = h.get_column("percent").to_numpy()
    ax.bar(x, y, color=PALETTE[0], width=0.75)
    for xi, yi, ni in zip(x, y, h.get_column("n_samples").to_list(), strict=True):
        if ni:
            ax.text(xi, yi + 0.8, str(ni), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    ax.set_xlabel(f"runs (of {n_runs}) giving the sample's most frequent label")
    ax.set_ylabel("samples (%)")
    ax.set_ylim(0, max(10.0, float(y.max()) * 1.15))
    ax.set_title(f"Stability over {n_runs} runs: {dataset_name(s.dataset)}")
    return fig


@styled
def stability_runs(s: Stability) -> Figure:
    """Figure 3b: the metric of every run with its interval, mean, and the majority vote."""
    pr = s.per_run
    summ = s.summary.row(0, named=True)
    fig, ax = new_figure(max(5.2, 0.45 * pr.height + 2.5), 3.4)
    for i, r in enumerate(pr.iter_rows(named=True)):
        is_vote = r["source"] == "majority-vote"
        lo, hi = r["ci_low"], r["ci_high"]
        yerr = [[r["value"] - lo], [hi - r["value"]]] if lo is not None and hi is not None else None
        ax.errorbar(
            i,
            r["value"],
            yerr=yerr,
            fmt="D" if is_vote else "o",
            color=PALETTE[1] if is_vote else PALETTE[0],
            capsize=3,
            markersize=6,
        )
    ax.axhline(
        summ["mean"], color="#555555", linestyle="--", linewidth=1, label=f"mean {summ['mean']:.2f}"
    )
    names = [
        ("vote" if r["source"] == "majority-vote" else short(r["run"]))
        for r in pr.iter_rows(named=True)
    ]
    ax.set_xticks(range(pr.height), names, rotation=45, ha="right")
    ax.set_ylabel(f"{summ['metric']} (%)")
    ax.set_title(f"Per-run {summ['metric']}: best − worst = {summ['spread']:.2f} points")
    ax.legend(frameon=False, loc="lower right")
    return fig


# --- consistency and robustness -----------------------------------------------------------------


@styled
def consistency_figure(per_class: pl.DataFrame, run_a: str, run_b: str, title: str) -> Figure:
    """Figure 5: per true class, the share of samples on which the two runs agree, beside each
    run's recall."""
    pc = per_class.filter(pl.col("class") != "all")
    classes = pc.get_column("class").to_list()
    x = np.arange(len(classes))
    fig, ax = new_figure(max(5.0, 0.95 * len(classes) + 2.5), 3.4)
    w = 0.27
    series = [
        ("agreement", "agreement of the two runs", PALETTE[0]),
        ("recall_a", f"recall: {short(run_a, 28)}", PALETTE[1]),
        ("recall_b", f"recall: {short(run_b, 28)}", PALETTE[2]),
    ]
    for k, (col, label, color) in enumerate(series):
        vals = [v if v is not None else 0 for v in pc.get_column(col).to_list()]
        ax.bar(x + (k - 1) * w, vals, w, color=color, label=label)
    ax.set_xticks(
        x, [f"{wrap(c, 12)}\nn={n}" for c, n in zip(classes, pc.get_column("n"), strict=True)]
    )
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


@styled
def robustness_figure(long: pl.DataFrame, factor: str) -> Figure:
    """One factor: a group per dataset, a bar per level with its interval."""
    sub = long.filter(pl.col("factor") == factor)
    groups = sub.select("column", "fixed").unique(maintain_order=True).rows()
    levels = list(dict.fromkeys(sub.get_column("level").to_list()))
    fig, ax = new_figure(max(4.5, 1.1 * len(groups) * max(1, len(levels)) ** 0.5 + 2.5), 3.4)
    w = 0.8 / len(levels)
    for k, level in enumerate(levels):
        xs, ys, errs = [], [], [[], []]
        for g, (col, fixed) in enumerate(groups):
            hit = sub.filter(
                (pl.col("column") == col) & (pl.col("fixed") == fixed) & (pl.col("level") == level)
            )
            if hit.height == 0:
                continue
            r = hit.row(0, named=True)
            xs.append(g - 0.4 + w * (k + 0.5))
            ys.append(r["value"])
            lo = r["ci_low"] if r["ci_low"] is not None else r["value"]
            hi = r["ci_high"] if r["ci_high"] is not None else r["value"]
            errs[0].append(r["value"] - lo)
            errs[1].append(hi - r["value"])
        has_ci = any(e > 0 for e in errs[0] + errs[1])
        bars = ax.bar(
            xs,
            ys,
            w,
            color=PALETTE[k % len(PALETTE)],
            label=_level_name(factor, level),
            yerr=errs if has_ci else None,
            capsize=3,
            error_kw={"elinewidth": 1},
        )
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2 if not has_ci else 8)
    metrics = [sub.filter(pl.col("column") == c).item(0, "metric") for c, _ in groups]
    ax.set_xticks(
        range(len(groups)),
        [f"{wrap(c)}\n({m})" for (c, _), m in zip(groups, metrics, strict=True)],
    )
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Robustness to {factor}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title=factor)
    return fig


def _level_name(factor: str, level: str) -> str:
    if factor == "frames":
        return f"{level} frames"
    if factor == "template":
        return f"template #{level}"
    return {"multi": "video + text", "gray": "grayscale", "rgb": "RGB"}.get(level, level)


# --- failures -----------------------------------------------------------------------------------


@styled
def failures_figure(statuses: pl.DataFrame) -> Figure:
    """Per run: the share of samples with no usable answer, stacked by kind."""
    kinds = [k for k in STATUS_COLORS if k in statuses.columns]
    runs = statuses.get_column("run").to_list()
    fig, ax = new_figure(7.0, max(2.2, 0.32 * len(runs) + 1.3))
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    ax.grid(False, axis="y")
    left = np.zeros(len(runs))
    n = statuses.get_column("n_samples").to_numpy().astype(float)
    for k in kinds:
        v = statuses.get_column(k).to_numpy().astype(float) / np.where(n > 0, n, 1) * 100
        ax.barh(runs, v, left=left, color=STATUS_COLORS[k], label=STATUS_NAMES[k])
        left += v
    for i, tot in enumerate(left):
        ax.text(tot + 0.05 * max(left.max(), 0.1), i, f"{tot:.2f}%", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("samples without a usable answer (%)")
    ax.set_xlim(0, max(1.0, math.ceil(float(left.max()) * 1.25)))
    ax.set_title("Failures by run")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
