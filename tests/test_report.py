"""`report`: paper tables, figures (PNG and PDF), a self-contained index.html; on the released
predictions and on a synthetic mix with repeats and an RGB/gray pair."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA
from test_analysis_synth import noisy_runs

from ger_replay.analysis import runsets
from ger_replay.cli import main
from ger_replay.io import load as sources
from ger_replay.io.writer import write_table
from ger_replay.report import paper
from ger_replay.report.build import ReportResult, build_report
from ger_replay.score.scoring import score_table


@pytest.fixture(scope="module")
def released_report(tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data/gpt4v-emotion is absent (third-party data, not shipped)")
    loaded = sources.load([SHARED_DATA])
    out = tmp_path_factory.mktemp("rep") / "out"
    return build_report(loaded.table, out, loaded.calls, ci=False)


def _mix() -> pl.DataFrame:
    """sfew2: two repeats in RGB and one gray run (a repeat set and a color pair)."""
    rgb = noisy_runs(n=80, n_runs=2, seed=11, vary="repeat")
    gray = noisy_runs(n=80, n_runs=1, seed=11, vary="color", levels=["gray"])
    return pl.concat([rgb, gray])


def test_every_table_has_md_csv_tex_and_every_figure_png_pdf(
    released_report: ReportResult,
) -> None:
    out = released_report.out_dir
    stems = {p.stem for p in (out / "tables").iterdir()}
    for stem in stems:
        for ext in (".md", ".csv", ".tex"):
            assert (out / "tables" / f"{stem}{ext}").is_file(), (stem, ext)
    figs = {p.stem for p in (out / "figures").iterdir()}
    assert figs, "no figures"
    for stem in figs:
        png, pdf = out / "figures" / f"{stem}.png", out / "figures" / f"{stem}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert pdf.read_bytes()[:5] == b"%PDF-"
    assert {"table_visual_sentiment", "table_facial_emotion", "table_multimodal"} <= stems
    assert "robustness_modality" in figs and "failures" in figs


def test_index_is_self_contained(released_report: ReportResult) -> None:
    page = released_report.index.read_text(encoding="utf-8")
    imgs = re.findall(r'<img src="([^"]+)"', page)
    n_png = len(list((released_report.out_dir / "figures").glob("*.png")))
    assert len(imgs) == n_png
    assert all(src.startswith("data:image/png;base64,") for src in imgs)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "Random" in page and "Majority" in page


def test_paper_tables_hold_the_scores(released_report: ReportResult) -> None:
    df = sources.load([SHARED_DATA]).table
    rows = {r["run"]: r for r in score_table(df).rows}
    md = (released_report.out_dir / "tables" / "table_facial_emotion.md").read_text()
    assert f"{rows['affectnet/label-gpt4v']['value']:.2f}" in md
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert lines[2].startswith("| *Random*") and lines[3].startswith("| *Majority*")
    vis = pl.read_csv(released_report.out_dir / "tables" / "table_visual_sentiment.csv")
    five = vis.filter((pl.col("column") == "Twitter I (5 agree)") & (pl.col("run").is_not_null()))
    assert five.item(0, "value") == pytest.approx(rows["twitter1/label-five-gpt4v"]["value"])
    tex = (released_report.out_dir / "tables" / "table_multimodal.tex").read_text()
    assert "\\begin{tabular}" in tex and "video+text" in tex and "Random" in tex


def test_paper_rows_name_what_differs() -> None:
    df = _mix()
    labels = paper.row_labels(runsets.score_runs(df, ci=False))
    assert labels["sfew2/color-gray"] == "m, grayscale, run 0"
    assert labels["sfew2/repeat-1"] == "m, RGB, run 1"


def test_mixed_report_has_stability_consistency_robustness(tmp_path: Path) -> None:
    res = build_report(_mix(), tmp_path / "r", ci=False, figure_formats=["png"])
    page = res.index.read_text(encoding="utf-8")
    for title in (
        "Stability across repeated runs",
        "Consistency between RGB and grayscale",
        "Robustness: template, color, frames, modality",
    ):
        assert title in page
    maj = list((tmp_path / "r" / "tables").glob("stability_*_majority.csv"))
    assert len(maj) == 1
    assert score_table(sources.load(maj).table).rows[0]["n_total"] == 80
    assert (tmp_path / "r" / "figures" / "consistency_sfew2_repeat_0.png").is_file()


def test_cli_report_and_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "runs.parquet"
    write_table(noisy_runs(n=30, n_runs=1), p)
    runner = CliRunner()
    ok = runner.invoke(main, ["report", str(p), "-o", str(tmp_path / "out"), "--no-ci"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "out" / "index.html").is_file()
    bad = runner.invoke(main, ["report", str(tmp_path / "nope"), "-o", str(tmp_path / "o2")])
    assert bad.exit_code == 2 and "no such file" in bad.output


def test_task_tables_carry_the_papers_rows(released_report: ReportResult) -> None:
    md = (released_report.out_dir / "tables" / "table_facial_emotion.md").read_text()
    assert "| *GPT-4V (paper)* | 42.77 |" in md
    assert "| *Best supervised (paper)* | 63.77 (POSTER++) |" in md
    dyn = pl.read_csv(released_report.out_dir / "tables" / "table_dynamic_facial.csv")
    row = dyn.filter(pl.col("row").str.starts_with("GPT-4V (paper)"))
    assert row.get_column("value").to_list() == [43.8]  # the released DFEW run has 2 frames
    mm = (released_report.out_dir / "tables" / "table_multimodal.md").read_text()
    for v in ("82.32", "51.17", "80.43", "81.41 (MuT)"):
        assert v in mm


def test_overview_figure_and_its_numbers(released_report: ReportResult) -> None:
    out = released_report.out_dir
    assert (out / "figures" / "overview.png").is_file()
    over = pl.read_csv(out / "tables" / "overview.csv")
    assert over.get_column("column").to_list() == [
        "Twitter I (5 agree)",
        "Twitter I (4 agree)",
        "Twitter I (3 agree)",
        "AffectNet",
        "DFEW",
        "CMU-MOSI",
    ]
    aff = over.filter(pl.col("dataset") == "affectnet").row(0, named=True)
    assert aff["GPT-4V (paper)"] == 42.77 and aff["Best supervised (paper)"] == 63.77
    assert aff["Majority"] == pytest.approx(12.5) and aff["Random"] == pytest.approx(12.5)
    page = released_report.index.read_text(encoding="utf-8")
    assert "rules: paper:" in page


def test_report_header_names_the_rule_set(tmp_path: Path) -> None:
    p = tmp_path / "runs.parquet"
    write_table(noisy_runs(n=30, n_runs=1), p)
    res = CliRunner().invoke(
        main, ["report", str(p), "-o", str(tmp_path / "out"), "--no-ci", "--rules", "strict"]
    )
    assert res.exit_code == 0, res.output
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "rules: strict:" in page.split("<h2")[0]
    scores = pl.read_csv(tmp_path / "out" / "tables" / "scores.csv")
    assert scores.get_column("rules").unique().to_list() == ["strict"]
    assert scores.get_column("n_scored").to_list() == [30]
