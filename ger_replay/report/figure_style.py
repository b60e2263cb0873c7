"""The look shared by the report's figures: palette, status colours, matplotlib style, the figure
factory, `save` with fixed metadata (the same inputs give the same files), label wrapping."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ParamSpec

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ger_replay.protocol.status import Status

#: Okabe & Ito (2008), without yellow (too light on white).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
BASELINE_COLORS = {"Random": "#999999", "Majority": "#555555"}
STATUS_COLORS: dict[str, str] = {
    Status.REFUSED: "#D55E00",
    Status.COUNT_MISMATCH: "#E69F00",
    Status.UNPARSEABLE: "#CC79A7",
    Status.UNANSWERED: "#0072B2",
    Status.NO_CANDIDATE: "#56B4E9",
    Status.NO_LABEL: "#009E73",
}
STATUS_NAMES: dict[str, str] = {
    Status.REFUSED: "refused",
    Status.COUNT_MISMATCH: "count mismatch",
    Status.UNPARSEABLE: "unparseable",
    Status.UNANSWERED: "unanswered",
    Status.NO_CANDIDATE: "no candidate label",
    Status.NO_LABEL: "no label named",
}

STYLE = {
    # names come from strangers' runs: "$...$" is text, never TeX for the math parser
    "text.parse_math": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "savefig.dpi": 150,
    "pdf.fonttype": 3,
    "svg.fonttype": "none",
}


P = ParamSpec("P")


def styled(fn: Callable[P, Figure]) -> Callable[P, Figure]:
    """Builds the figure under the report's style (rcParams are read as artists are made)."""

    @functools.wraps(fn)
    def inner(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)

    return inner


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def save(
    fig: Figure, out_dir: Path, stem: str, formats: Sequence[str] = ("png", "pdf")
) -> list[Path]:
    """Writes `stem.png` and `stem.pdf` (or the `formats` asked) into `out_dir`; returns the
    paths, the PNG first."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.{ext}" for ext in formats]
    from matplotlib.text import Text

    from ger_replay.io.atomic import atomic_path
    from ger_replay.io.neutral import terminal

    for t in fig.findobj(Text):
        text = t.get_text()
        clean = terminal(text)
        if clean != text:  # control characters in a name: no glyph to draw them with
            t.set_text(clean)
    with matplotlib.rc_context(STYLE):
        for p in paths:
            with atomic_path(p) as tmp:
                fig.savefig(tmp, format=p.suffix[1:], metadata=_metadata(p.suffix))
    return paths


def _metadata(suffix: str) -> dict[str, str | None]:
    # Fixed metadata so the same inputs give the same files.
    if suffix == ".pdf":
        return {"Creator": "ger-replay", "Producer": None, "CreationDate": None}
    return {"Software": "ger-replay"}


def wrap(label: str, width: int = 14) -> str:
    words, lines, cur = label.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "\n".join(lines)


def short(run: str, n: int = 18) -> str:
    tail = run.rsplit("/", 1)[-1]
    return tail if len(tail) <= n else tail[: n - 1] + "…"


def dataset_name(key: str) -> str:
    from ger_replay.protocol import datasets

    try:
        return datasets.get(key).name
    except datasets.UnknownDataset:
        return key
