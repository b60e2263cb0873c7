"""The streaming scorer (`ger_replay.score.stream`) against scoring each run on its own, bit for
bit: on the released sample (skipped where it is absent), on generated runs of every dataset
kind, over files, folders of Parquet parts, CSV and JSONL; bad input is named."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import ger_replay._core as _core
from ger_replay.cli import main
from ger_replay.errors import CoreError
from ger_replay.io import scan, table
from ger_replay.io.writer import write_table
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Task
from ger_replay.protocol.labels import default_synonyms
from ger_replay.protocol.rules import Rules
from ger_replay.score import scoring, stream
from ger_replay.stats.bootstrap import add_count_intervals, add_intervals

INVENTED = ("Pain", "Concentration", "Confusion", "Boredom")
FAILED = (table.REFUSED, table.UNPARSEABLE, table.UNANSWERED, table.COUNT_MISMATCH, table.NO_LABEL)


def _variants(label: str) -> list[str]:
    """Spellings that fold to a candidate: case, spaces, known synonyms."""
    out = [label, label.lower(), label.upper(), f" {label} "]
    key = label.lower()
    out += [v for v, canon in default_synonyms() if canon == key]
    return out


def generated(seed: int = 7, n: int = 80, runs_per: int = 2) -> pl.DataFrame:
    """Runs of every dataset of the registry, with every kind of sample: folded spellings,
    invented first labels, rankings without a candidate, refusals, unparseable answers,
    unanswered samples and, for the sentiment-score datasets, scores of 0."""
    rng = np.random.default_rng(seed)
    frames = []
    for key, ds in datasets.DATASETS.items():
        lab = Rules(ds)
        for r in range(runs_per):
            sid, gt, ranking, pred, invented, status = [], [], [], [], [], []
            for i in range(n):
                sid.append(f"s{i:04d}")
                if ds.binary is datasets.Binary.SENTIMENT_SCORE:
                    gt.append(str(rng.choice(["0", "0.0", "-1.4", "2.2", "0.6", "-0.2", "3"])))
                else:
                    gt.append(str(rng.choice(_variants(str(rng.choice(ds.labels))))))
                u = rng.random()
                if u < 0.12:
                    ranking.append(None)
                    pred.append(None)
                    invented.append([])
                    status.append(str(rng.choice(FAILED)))
                    continue
                k = int(rng.integers(1, 4))
                labels = [str(rng.choice(_variants(str(rng.choice(ds.labels))))) for _ in range(k)]
                if u < 0.3:  # an invented label first
                    labels.insert(0, str(rng.choice(INVENTED)))
                if u < 0.36:  # no candidate at all
                    labels = [str(rng.choice(INVENTED))]
                found, inv = lab.first_candidate(labels)
                ranking.append(labels)
                pred.append(found)
                invented.append(inv)
                status.append(table.OK if found is not None else table.NO_CANDIDATE)
            meta = {"run": f"{key}/gen-{r}", "dataset": key, "model": "m", "repeat": r}
            frames.append(table.run_frame(meta, sid, gt, ranking, pred, status, invented=invented))
    return pl.concat(frames)


def per_run(df: pl.DataFrame, rules: str) -> dict[str, dict[str, Any]]:
    """The per-run path: each run coded and scored on its own."""
    return {
        part.item(0, "run"): scoring.score_coded(scoring.code_run(part, rules=rules))
        for part in df.partition_by("run", maintain_order=True)
    }


def same(a: Any, b: Any) -> bool:
    """Equal to the last bit (NaN equal to NaN)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a.hex() == b.hex()
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def assert_rows_equal(rows: list[dict[str, Any]], ref: dict[str, dict[str, Any]]) -> None:
    assert [r["run"] for r in rows] == list(ref)
    for row in rows:
        want = ref[row["run"]]
        assert list(row) == list(want), row["run"]
        bad = [k for k in want if not same(row[k], want[k])]
        assert not bad, (row["run"], {k: (row[k], want[k]) for k in bad})


@pytest.mark.parametrize("rules", ["paper", "strict", "lenient"])
def test_generated_runs_of_every_dataset_equal_the_per_run_path(rules: str) -> None:
    df = generated()
    res = scoring.score_table(df, rules)
    assert res.errors == []
    assert {r["dataset"] for r in res.rows} == set(datasets.DATASETS)
    assert_rows_equal(res.rows, per_run(df, rules))
    # the generated runs do exercise every case
    statuses = set(df.get_column("status").unique().to_list())
    assert statuses == set(table.STATUSES)
    mosi = [r for r in res.rows if r["dataset"] == "cmumosi"]
    assert all(r["n_total"] < 80 and r["metric"] == "WAF" for r in mosi)  # scores of 0 left out


def reference(df: pl.DataFrame, rules: str) -> dict[str, tuple[float | None, int, int, float]]:
    """PROTOCOL.md part 3 read literally, one sample at a time, metrics by the sample kernel:
    run -> (value, n_scored, n_total, coverage)."""
    out = {}
    for part in df.partition_by("run", maintain_order=True):
        ds = datasets.get(part.item(0, "dataset"))
        lab = Rules(ds)
        truth, pred = [], []
        n_total = n_usable = 0
        for row in part.iter_rows(named=True):
            t = lab.truth(row["gt"])
            if t is None:
                continue
            n_total += 1
            answered = row["status"] in (table.OK, table.NO_CANDIDATE)
            if rules == "lenient":
                label = row["pred"] if row["status"] == table.OK else None
            else:
                label = (row["ranking"] or [row["pred"]])[0]
            cand = lab.space.canonical(label) if (answered and label) else None
            if cand is not None:
                n_usable += 1
                truth.append(lab.code(t))
                pred.append(lab.code(lab.binarize(cand)))
            elif answered:
                video = ds.task is Task.DYNAMIC_FACIAL
                if rules == "strict" or (rules == "paper" and not video):
                    truth.append(lab.code(t))
                    pred.append(-1)
            elif rules == "strict":
                truth.append(lab.code(t))
                pred.append(-1)
        value = None
        if truth:
            m = _core.compute_metrics(
                np.asarray(truth, dtype=np.int64),
                np.asarray(pred, dtype=np.int64),
                len(lab.classes),
            )
            value = float(m[scoring.METRIC_KEY[ds.metric]]) * 100  # type: ignore[arg-type]
        out[part.item(0, "run")] = (value, len(truth), n_total, n_usable / n_total * 100)
    return out


@pytest.mark.parametrize("rules", ["paper", "strict", "lenient"])
def test_every_rule_set_equals_the_protocol_read_sample_by_sample(rules: str) -> None:
    df = generated(seed=11)
    res = stream.score_frame(df, rules)
    assert res.errors == []
    ref = reference(df, rules)
    got = {r["run"]: (r["value"], r["n_scored"], r["n_total"], r["coverage"]) for r in res.rows}
    assert got.keys() == ref.keys()
    for run, want in ref.items():
        assert same(got[run][0], want[0]) or got[run][0] == want[0], (run, got[run], want)
        assert got[run][1:] == want[1:], (run, got[run], want)
    # the rule sets do differ where the protocol says they do
    if rules == "strict":
        assert all(r["n_scored"] == r["n_total"] for r in res.rows)


def test_paper_leaves_invalid_video_answers_out_and_counts_image_ones_wrong() -> None:
    df = generated(seed=5)
    paper = {r["run"]: r for r in stream.score_frame(df, "paper").rows}
    strict = {r["run"]: r for r in stream.score_frame(df, "strict").rows}
    video = [r for r in paper.values() if r["task"] == str(Task.DYNAMIC_FACIAL)]
    image = [r for r in paper.values() if r["task"] == str(Task.FACIAL_EMOTION)]
    assert video and image
    assert any(r["n_scored"] < strict[r["run"]]["n_scored"] for r in video)
    # image tasks: every answered sample is scored, only the unanswered are left out
    df_img = df.filter(pl.col("run").is_in([r["run"] for r in image]))
    answered = df_img.group_by("run").agg(
        pl.col("status").is_in([table.OK, table.NO_CANDIDATE]).sum().alias("a")
    )
    for run, a in answered.iter_rows():
        assert paper[run]["n_scored"] == a


def _write_copies(df: pl.DataFrame, copies: int, path: Path) -> None:
    big = pl.concat(
        [
            df.with_columns((pl.lit(f"c{k:03d}/") + pl.col("run")).alias("run"))
            for k in range(copies)
        ]
    )
    write_table(big, path)


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "run"}


def test_many_copies_in_a_file_and_in_parquet_parts_score_as_one_copy(tmp_path: Path) -> None:
    df = generated(seed=3, n=50, runs_per=1)
    one = {r["run"]: r for r in stream.score_frame(df, "paper").rows}
    _write_copies(df, 30, tmp_path / "big.parquet")
    parts = tmp_path / "parts"
    parts.mkdir()
    full = pl.read_parquet(tmp_path / "big.parquet")
    for i, chunk in enumerate(full.iter_slices(n_rows=997)):
        chunk.write_parquet(parts / f"part-{i:04d}.parquet")
    for target in (tmp_path / "big.parquet", parts):
        got = scan.scan([target])
        assert got.errors == []
        res = stream.score_sources(got.sources, "paper")
        assert res.errors == []
        assert len(res.rows) == 30 * len(one)
        for row in res.rows:
            base = row["run"].split("/", 1)[1]
            assert same(_strip(row), _strip(one[base])), row["run"]


def test_released_sample_repeated_scores_as_one_copy(released_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "released.parquet"
    res = CliRunner().invoke(main, ["import", "gpt4v-emotion", str(released_dir), "-o", str(out)])
    assert res.exit_code == 0, res.output
    df = pl.read_parquet(out)
    for rules in ("paper", "strict", "lenient"):
        assert_rows_equal(scoring.score_table(df, rules).rows, per_run(df, rules))
    _write_copies(df, 25, tmp_path / "many.parquet")
    for rules in ("paper", "strict", "lenient"):
        one = {r["run"]: r for r in stream.score_frame(df, rules).rows}
        got = stream.score_sources(scan.scan([tmp_path / "many.parquet"]).sources, rules)
        assert got.errors == [] and len(got.rows) == 25 * len(one)
        for row in got.rows:
            assert same(_strip(row), _strip(one[row["run"].split("/", 1)[1]]))
        ref = reference(df, rules)
        for run, r in one.items():
            assert same(r["value"], ref[run][0]) and r["n_scored"] == ref[run][1]


def test_csv_and_jsonl_scan_like_parquet(tmp_path: Path) -> None:
    df = generated(seed=9, n=40, runs_per=1)
    want = stream.score_frame(df, "paper").rows
    for suffix in (".parquet", ".csv", ".jsonl"):
        path = tmp_path / f"p{suffix}"
        write_table(df, path)
        got = scan.scan([path])
        assert got.errors == []
        res = stream.score_sources(got.sources, "paper")
        assert res.errors == []
        assert len(res.rows) == len(want)
        for a, b in zip(res.rows, want, strict=True):
            assert same(a, b), (suffix, a["run"])


def test_counts_intervals_equal_sample_intervals() -> None:
    df = generated(seed=2, n=120, runs_per=1)
    for rules in ("paper", "strict", "lenient"):
        res = scoring.score_table(df, rules)
        coded = scoring.coded_runs(df, rules)
        for method in ("percentile", "bca"):
            a = [dict(r) for r in res.rows]
            b = [dict(r) for r in res.rows]
            add_count_intervals(a, res.confusion, 400, 0.9, method, seed=5)
            add_intervals(b, coded, 400, 0.9, method, seed=5)
            for x, y in zip(a, b, strict=True):
                assert x["ci_low"] is not None
                assert same(x["ci_low"], y["ci_low"]) and same(x["ci_high"], y["ci_high"])


def test_batch_metrics_equal_one_matrix_at_a_time() -> None:
    rng = np.random.default_rng(0)
    cms = rng.integers(0, 30, size=(17, 5, 6)).astype(np.uint64)
    batch = _core.metrics_from_confusions(cms)
    for i, cm in enumerate(cms):
        one = _core.metrics_from_confusion(cm)
        for k in ("acc", "war", "uar", "waf", "macro_f1"):
            assert float(batch[k][i]).hex() == float(one[k]).hex()  # type: ignore[arg-type]
        assert np.array_equal(batch["recall"][i], np.asarray(one["recall"]), equal_nan=True)
    with pytest.raises(CoreError, match="run 1"):
        _core.metrics_from_confusions(np.stack([cms[0], np.zeros((5, 6), np.uint64)]))


def test_bad_inputs_are_named_and_the_rest_scored(tmp_path: Path) -> None:
    df = generated(seed=4, n=30, runs_per=1)
    bad_gt = df.with_columns(
        pl.when((pl.col("run") == "ckplus/gen-0") & (pl.col("sample_id") == "s0003"))
        .then(pl.lit("Joyful"))
        .otherwise(pl.col("gt"))
        .alias("gt")
    )
    write_table(bad_gt, tmp_path / "a.parquet")
    (tmp_path / "empty.parquet").write_bytes(b"")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    write_table(df.filter(pl.col("dataset") == "dfew"), tmp_path / "again.parquet")
    write_table(
        df.head(5).with_columns(pl.lit("maybe").alias("status"), pl.lit("x/y").alias("run")),
        tmp_path / "status.parquet",
    )
    paths = [tmp_path / n for n in ("a", "empty", "junk", "again", "status")]
    got = scan.scan([p.with_suffix(".parquet") for p in paths])
    res = stream.score_sources(got.sources, "paper")
    text = "\n".join(str(e) for e in [*got.errors, *res.errors])
    assert "empty.parquet: the file is empty" in text
    assert "junk.parquet" in text
    assert "status.parquet: unknown status value(s) ['maybe']" in text
    assert "run ckplus/gen-0, sample s0003" in text and "'Joyful'" in text
    assert "given more than once" in text and "dfew/gen-0" in text
    scored = {r["run"] for r in res.rows}
    assert "ckplus/gen-0" not in scored and "dfew/gen-0" not in scored
    assert len(scored) == len(datasets.DATASETS) - 2
    cli = CliRunner().invoke(
        main, ["score", *map(str, (tmp_path / "a.parquet", tmp_path / "empty.parquet"))]
    )
    assert cli.exit_code == 2 and "empty.parquet" in cli.stderr


def test_cli_bootstrap_over_a_predictions_file(tmp_path: Path) -> None:
    df = generated(seed=6, n=60, runs_per=1)
    write_table(df, tmp_path / "p.parquet")
    res = CliRunner().invoke(
        main, ["score", str(tmp_path / "p.parquet"), "--bootstrap", "300", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    import json

    rows = json.loads(res.stdout)
    assert len(rows) == len(datasets.DATASETS)
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in rows)


def test_report_over_many_runs_draws_the_extremes_not_every_run(tmp_path: Path) -> None:
    from ger_replay.report.bounds import FIGURE_LIMIT
    from ger_replay.report.build import build_report

    one = generated(seed=8, n=40, runs_per=1).filter(pl.col("dataset").is_in(["ckplus", "sfew2"]))
    df = pl.concat(
        [one.with_columns((pl.lit(f"c{k:02d}/") + pl.col("run")).alias("run")) for k in range(15)]
    )
    res = build_report(df, tmp_path / "r", ci=False, figure_formats=("png",))
    confusions = sorted(p.name for p in (tmp_path / "r").rglob("confusion_*.png"))
    assert 2 <= len(confusions) <= 4 < 30  # best and worst of each dataset, not all 30 runs
    assert len(list((tmp_path / "r").rglob("*.png"))) <= 4 * FIGURE_LIMIT
    assert any("confusion: figures of the best and worst run" in n for n in res.notes)
    conf = pl.read_csv(next((tmp_path / "r").rglob("confusion.csv")))
    assert conf.get_column("run").n_unique() == 30  # every run stays in the data


def test_import_then_streamed_export_to_every_format_scores_the_same(tmp_path: Path) -> None:
    df = generated(seed=12, n=40, runs_per=1)
    write_table(df, tmp_path / "p.parquet")
    want = stream.score_frame(df, "paper").rows
    for suffix in (".parquet", ".csv", ".jsonl"):
        out = tmp_path / f"e{suffix}"
        res = CliRunner().invoke(main, ["export", str(tmp_path / "p.parquet"), "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert f"exported {df.height} rows" in res.stderr
        got = scan.scan([out])
        rows = stream.score_sources(got.sources, "paper").rows
        assert len(rows) == len(want) and all(same(a, b) for a, b in zip(rows, want, strict=True))
    back = pl.read_parquet(tmp_path / "e.parquet")
    assert back.get_column("exported_with").drop_nulls().len() == df.height
