"""Import of the paper's released predictions (PROTOCOL.md part 4, the `results/` layout).

Each dataset folder holds the full test set (`label.csv`; Twitter I: one file per agreement
subset) and one `label-*gpt4v*.csv` per run. Every run file becomes one run named
`<folder>/<file stem>`; test samples a run lacks become rows with status `unanswered`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ger_replay.errors import InputError
from ger_replay.io import safe_read, table
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset, Task
from ger_replay.protocol.reference import RELEASED_DEFAULT_FRAMES
from ger_replay.protocol.rules import Rules, UnknownLabel

COLUMNS = ("name", "gt", "gpt4v")
RELEASED_MODEL = "gpt-4-vision-preview"
_RUN_FILE = re.compile(r"^label-.*gpt4v.*\.csv$", re.IGNORECASE)
_EXT = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    gt: str
    gpt4v: str


def sample_key(name: str) -> str:
    """Names that differ only by a sub-folder or a file extension match."""
    base = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    return _EXT.sub("", base)


def read_csv(path: Path) -> list[Row]:
    """Reads a `name,gt,gpt4v` file, failing with the file and line on anything else."""
    raw = safe_read.read_bytes(path, safe_read.MAX_CSV)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", path) from None
    if not text.strip():
        raise InputError("the file is empty; expected a header name,gt,gpt4v", path)
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader)]
    if tuple(header) != COLUMNS:
        raise InputError(
            f"expected the columns name,gt,gpt4v, found {','.join(header) or '(none)'}", path, 1
        )
    rows = []
    for i, rec in enumerate(reader, start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) != 3:
            raise InputError(f"expected 3 fields (name,gt,gpt4v), found {len(rec)}", path, i)
        rows.append(Row(i, rec[0], rec[1].strip(), rec[2]))
    if not rows:
        raise InputError("the file has a header but no rows", path)
    return rows


def split_ranking(cell: str) -> list[str]:
    """The released ranking cell: comma-separated labels, stray quotes and brackets dropped."""
    out = []
    for part in cell.split(","):
        lab = part.strip().strip("'\"[]{}").strip()
        if lab:
            out.append(lab)
    return out


def run_metadata(folder: str, stem: str, dataset: Dataset) -> dict[str, object]:
    """Setting of a released run, read off its file name's suffixes."""
    meta: dict[str, object] = {
        "run": f"{folder}/{stem}",
        "dataset": dataset.key,
        "model": RELEASED_MODEL,
        "template": "1",
        "frames": None,
        "color": "rgb",
        "modality": dataset.modality,
        "repeat": 0,
        "source": "released",
    }
    words = stem.lower().split("-")
    for w in words:
        if w in ("2", "3"):
            meta["frames"] = int(w)
        elif w in ("text", "video", "multi"):
            meta["modality"] = w
        elif w in ("rgb", "grey", "gray"):
            meta["color"] = "gray" if w in ("grey", "gray") else "rgb"
    if dataset.task is Task.DYNAMIC_FACIAL and meta["frames"] is None:
        # A video run file without a frame count is a 2-frame run (the reference notes).
        meta["frames"] = RELEASED_DEFAULT_FRAMES
    return meta


def test_set_file(folder: Path, dataset: Dataset, stem: str) -> Path:
    if dataset.key == "twitter1":
        for word, fname in datasets.TWITTER1_SUBSETS.items():
            if f"-{word}-" in f"-{stem.lower()}-":
                return folder / fname
        raise InputError(
            "a Twitter I run file must name its agreement subset (five, four or three)",
            folder / f"{stem}.csv",
        )
    return folder / "label.csv"


def read_frame(path: Path) -> pl.DataFrame:
    """A `name,gt,gpt4v` file as columns `line, key, name, gt, gpt4v` (strings).

    Parsed by polars; anything polars will not read cleanly goes through `read_csv`, which
    names the file and line of the fault."""
    safe_read.check_regular(path)
    try:
        df = pl.read_csv(path, infer_schema=False, raise_if_empty=True)
        ok = [c.strip().lstrip("\ufeff") for c in df.columns] == list(COLUMNS)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError):
        ok = False
    if not ok or df.height == 0:
        rows = read_csv(path)  # raises the precise error, or reads what polars would not
        df = pl.DataFrame(
            {
                "line": [r.line for r in rows],
                "name": [r.name for r in rows],
                "gt": [r.gt for r in rows],
                "gpt4v": [r.gpt4v for r in rows],
            },
            schema={"line": pl.Int64, "name": pl.String, "gt": pl.String, "gpt4v": pl.String},
        )
    else:
        df = df.rename(dict(zip(df.columns, COLUMNS, strict=True))).with_row_index("line", 2)
        df = df.with_columns(pl.col("line").cast(pl.Int64), pl.col("gt").str.strip_chars())
    key = (
        pl.col("name")
        .fill_null("")
        .str.strip_chars()
        .str.replace_all("\\", "/", literal=True)
        .str.extract(r"([^/]*)$")
        .str.replace(_EXT.pattern, "")
    )
    return df.with_columns(key.alias("key"))


def _line(df: pl.DataFrame, mask: pl.Expr) -> int:
    return int(df.filter(mask).item(0, "line"))


def read_test_set(path: Path, rules: Rules) -> pl.DataFrame:
    """The full test set as `sample_id, gt`, every ground truth checked."""
    if not path.exists():
        raise InputError("the test-set file is missing (needed to know the full test set)", path)
    df = read_frame(path)
    if df.filter(pl.col("key") == "").height:
        raise InputError("empty sample name", path, _line(df, pl.col("key") == ""))
    dup = df.filter(pl.col("key").is_duplicated())
    if dup.height:
        key = dup.item(1, "key")
        raise InputError(
            f"sample {key!r} appears twice in the test set", path, int(dup.item(1, "line"))
        )
    for gt in df.get_column("gt").unique(maintain_order=True).to_list():
        try:
            rules.truth(gt)
        except UnknownLabel as e:
            mask = pl.col("gt").is_null() if gt is None else pl.col("gt") == gt
            raise InputError(str(e), path, _line(df, mask)) from None
    return df.select(pl.col("key").alias("sample_id"), "gt")


def import_run(run_file: Path, dataset: Dataset, folder_name: str) -> pl.DataFrame:
    """One released run file joined to its full test set."""
    rules = Rules(dataset)
    stem = run_file.stem
    test_path = test_set_file(run_file.parent, dataset, stem)
    test = read_test_set(test_path, rules)
    answers = read_frame(run_file)
    stray = answers.join(test, left_on="key", right_on="sample_id", how="anti")
    if stray.height:
        raise InputError(
            f"sample {stray.item(0, 'name')!r} is not in the test set {test_path.name}",
            run_file,
            int(stray.item(0, "line")),
        )
    dup = answers.filter(pl.col("key").is_duplicated())
    if dup.height:
        first = int(dup.item(0, "line"))
        raise InputError(
            f"sample {dup.item(1, 'name')!r} appears twice (first on line {first})",
            run_file,
            int(dup.item(1, "line")),
        )
    answers = answers.select(pl.col("key").alias("sample_id"), pl.col("gpt4v").alias("cell"))
    df = test.join(answers, on="sample_id", how="left", maintain_order="left").with_columns(
        pl.col("cell")
        .str.split(",")
        .list.eval(pl.element().str.strip_chars().str.strip_chars("'\"[]{}").str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias("ranking")
    )
    df = df.with_columns(
        pl.when(pl.col("ranking").list.len() > 0).then(pl.col("ranking")).alias("ranking")
    )
    labels = df.get_column("ranking").explode().drop_nulls().unique().to_list()
    canon = dict(zip(labels, rules.space.canonical_many(labels), strict=True))
    to_cand = {k: v for k, v in canon.items() if v is not None}
    invented = [k for k, v in canon.items() if v is None]
    df = df.with_columns(
        pl.col("ranking")
        .list.eval(pl.element().replace_strict(to_cand, default=None, return_dtype=pl.String))
        .list.drop_nulls()
        .list.first()
        .alias("pred"),
        pl.col("ranking")
        .list.eval(pl.element().filter(pl.element().is_in(invented)))
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))
        .alias("invented"),
    ).with_columns(
        pl.when(pl.col("ranking").is_null())
        .then(pl.lit(table.UNANSWERED))
        .when(pl.col("pred").is_null())
        .then(pl.lit(table.NO_CANDIDATE))
        .otherwise(pl.lit(table.OK))
        .alias("status"),
        pl.when(pl.col("ranking").is_null()).then(0).otherwise(1).alias("attempts"),
    )
    meta = run_metadata(folder_name, stem, dataset)
    return table.with_meta(df.drop("cell"), meta)


def run_files(results_dir: Path) -> Iterator[tuple[Path, str]]:
    """(run file, folder name) for every run file under a results folder, sorted."""
    for folder in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            if f.is_file() and _RUN_FILE.match(f.name):
                yield f, folder.name


def is_released_layout(path: Path) -> bool:
    """A results folder (dataset folders holding label*.csv) or one dataset folder of it."""
    if not path.is_dir():
        return False
    if any(_RUN_FILE.match(f.name) for f in path.iterdir() if f.is_file()):
        return True
    return any(
        sub.is_dir() and any(_RUN_FILE.match(f.name) for f in sub.iterdir() if f.is_file())
        for sub in path.iterdir()
    )


def iter_runs(results_dir: Path) -> Iterator[pl.DataFrame | InputError]:
    """Each run under a results folder (or a single dataset folder) as its rows, or the error
    that stopped it; one bad file does not hide the others."""
    results_dir = Path(results_dir)
    if not results_dir.exists():
        raise InputError("no such file or folder", results_dir)
    if not results_dir.is_dir():
        raise InputError("expected a results folder of the released predictions", results_dir)
    files = list(run_files(results_dir))
    if not files and any(_RUN_FILE.match(f.name) for f in results_dir.iterdir()):
        files = [
            (f, results_dir.name) for f in sorted(results_dir.iterdir()) if _RUN_FILE.match(f.name)
        ]
    unknown: set[str] = set()
    for f, folder in files:
        try:
            dataset = datasets.get(folder)
        except datasets.UnknownDataset as e:
            if folder not in unknown:
                unknown.add(folder)
                yield InputError(f"unknown dataset folder: {e}", f.parent)
            continue
        try:
            yield import_run(f, dataset, folder)
        except InputError as e:
            yield e
    if not files:
        yield InputError("no run files (label-*gpt4v*.csv) found", results_dir)


def import_results(results_dir: Path) -> tuple[pl.DataFrame, list[InputError]]:
    """Every run under a results folder (or a single dataset folder), in memory."""
    frames, errors = [], []
    for got in iter_runs(results_dir):
        if isinstance(got, InputError):
            errors.append(got)
        else:
            frames.append(got)
    df = pl.concat(frames) if frames else table.empty()
    return df, errors


def import_to(results_dir: Path, output: Path) -> tuple[int, int, list[InputError]]:
    """Imports into a predictions table file, one run in memory at a time: each run is written
    to a private temporary folder beside the output, then all are streamed into `output`;
    when any run could not be read nothing is written. Returns (runs, rows, errors)."""
    import shutil
    import tempfile

    from ger_replay.io.writer import sink_table

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    parts = Path(tempfile.mkdtemp(prefix=f".{output.name}.parts.", dir=output.parent))
    errors: list[InputError] = []
    runs = rows = 0
    try:
        for got in iter_runs(results_dir):
            if isinstance(got, InputError):
                errors.append(got)
                continue
            got.write_parquet(parts / f"{runs:06d}.parquet")
            runs += 1
            rows += got.height
        if errors:  # nothing partial: the output is written only when every run was read
            return runs, rows, errors
        if runs:
            sink_table(pl.scan_parquet(sorted(parts.glob("*.parquet"))), output)
        else:
            sink_table(table.empty().lazy(), output)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    return runs, rows, errors
