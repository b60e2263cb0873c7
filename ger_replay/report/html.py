"""`index.html`: one self-contained page (styles inline, figures as data URIs) that shows every
table and figure of a report with a short summary; readable offline, no scripts."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ger_replay.report.paper import BASELINES, PaperTable, is_paper_row

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#222;
background:#fff;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:1.7em;margin:.2em 0 .1em}h2{font-size:1.3em;margin-top:2em;
border-bottom:2px solid #0072B2;padding-bottom:.2em}h3{font-size:1.05em;margin:1.4em 0 .4em}
p.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.88em;
font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #333;background:#f6f8fa}
tr.baseline td{color:#666;font-style:italic}
tr.baseline:last-of-type td{border-bottom:1.5px solid #999}
.ci{color:#666;font-size:.9em}.cov{color:#b35900;font-size:.85em}
figure{margin:1em 0 1.6em}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em;margin-top:.3em}
.files{font-size:.85em;color:#555}.files a{color:#0072B2}
ul.summary li{margin:.2em 0}
details{margin:.4em 0}summary{cursor:pointer;font-weight:600}
.scroll{overflow-x:auto}
.note{background:#f6f8fa;border-left:4px solid #E69F00;padding:.5em .9em;font-size:.9em}
"""


@dataclass
class FigureRef:
    png: Path
    caption: str
    files: list[Path] = field(default_factory=list)


@dataclass
class Block:
    """A piece of a section: HTML made here (a table, a paragraph) or a figure."""

    html: str = ""
    figure: FigureRef | None = None
    #: put the block in a collapsed <details> with this summary
    fold: str | None = None


@dataclass
class Section:
    title: str
    intro: str = ""
    blocks: list[Block] = field(default_factory=list)


def esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _links(files: list[Path], base: Path) -> str:
    if not files:
        return ""
    links = " · ".join(
        f'<a href="{esc(p.relative_to(base).as_posix())}">{esc(p.suffix[1:].upper())}</a>'
        for p in files
    )
    return f'<div class="files">files: {links}</div>'


def paper_table_html(t: PaperTable, files: list[Path], base: Path) -> str:
    heads = "".join(f"<th>{esc(c)}<br><small>{esc(m)}</small></th>" for c, m in t.columns)
    body = []
    for name, cells in t.rows.items():
        cls = ' class="baseline"' if name in BASELINES or is_paper_row(name) else ""
        tds = []
        for c, _ in t.columns:
            cell = cells.get(c)
            if cell is None or cell.value is None:
                tds.append("<td>–</td>")
                continue
            s = f"{cell.value:.2f}"
            if cell.note:
                s += f' <span class="ci">({esc(cell.note)})</span>'
            if cell.ci_low is not None and cell.ci_high is not None:
                s += f' <span class="ci">[{cell.ci_low:.2f}, {cell.ci_high:.2f}]</span>'
            if cell.n_scored is not None and cell.n_total not in (None, cell.n_scored):
                s += f' <span class="cov">{cell.n_scored}/{cell.n_total}</span>'
            tds.append(f"<td>{s}</td>")
        body.append(f"<tr{cls}><td>{esc(name)}</td>{''.join(tds)}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr><th></th>{heads}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{_links(files, base)}"
    )


def frame_html(df: pl.DataFrame, digits: int = 2, max_rows: int = 200) -> str:
    """A DataFrame as an HTML table: floats with `digits` decimals, nulls as a dash."""
    heads = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for r in df.head(max_rows).iter_rows():
        cells = []
        for v in r:
            if v is None:
                cells.append("<td>–</td>")
            elif isinstance(v, float):
                cells.append(f"<td>{v:.{digits}f}</td>")
            elif isinstance(v, list):
                cells.append(f"<td>{esc(', '.join(map(str, v)))}</td>")
            else:
                cells.append(f"<td>{esc(v)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = (
        f'<p class="sub">{df.height - max_rows} more row(s) in the CSV file.</p>'
        if df.height > max_rows
        else ""
    )
    return (
        f'<div class="scroll"><table><thead><tr>{heads}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{more}"
    )


def png_width(png: Path) -> int:
    """The pixel width in a PNG's header."""
    head = png.read_bytes()[:24]
    return int.from_bytes(head[16:20], "big") if head[:8] == b"\x89PNG\r\n\x1a\n" else 0


#: Figures are saved at 150 dpi and shown at the screen's 96 px per inch.
DISPLAY_SCALE = 96 / 150


def _figure_html(f: FigureRef, base: Path) -> str:
    width = int(png_width(f.png) * DISPLAY_SCALE)
    size = f' width="{width}"' if width else ""
    return (
        f'<figure><img src="{data_uri(f.png)}"{size} alt="{esc(f.caption)}">'
        f"<figcaption>{esc(f.caption)}</figcaption>{_links(f.files, base)}</figure>"
    )


def render_page(
    title: str, subtitle: str, summary: list[str], sections: list[Section], base: Path
) -> str:
    """The page. `summary` items are HTML made by the caller (escaped there)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{esc(title)}</h1><p class='sub'>{esc(subtitle)}</p>",
    ]
    if summary:
        parts.append("<h2>Summary</h2><ul class='summary'>")
        parts += [f"<li>{s}</li>" for s in summary]
        parts.append("</ul>")
    for sec in sections:
        parts.append(f"<h2 id='{esc(_anchor(sec.title))}'>{esc(sec.title)}</h2>")
        if sec.intro:
            parts.append(f"<p>{sec.intro}</p>")
        for b in sec.blocks:
            inner = b.html + (_figure_html(b.figure, base) if b.figure else "")
            if b.fold:
                inner = f"<details><summary>{esc(b.fold)}</summary>{inner}</details>"
            parts.append(inner)
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _anchor(title: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "-" for ch in title).strip("-")


__all__ = [
    "Block",
    "FigureRef",
    "Section",
    "data_uri",
    "esc",
    "frame_html",
    "paper_table_html",
    "render_page",
]
