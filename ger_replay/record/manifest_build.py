"""`ger-replay manifest DATASET --media ROOT --tests RESULTS_DIR -o FILE`: the manifest of the
paper's test set from a dataset folder as its authors distribute it.

The test list (names and labels) is the released predictions' `label.csv` of the dataset's folder
(folder aliases and Twitter I's agreement lists as in `io/released.py`), or `--labels FILE`
(`name,gt`) for a dataset with no released list. Each test sample's media is then looked for
anywhere under ROOT (nested folders, training files beside test files are fine), matched by the
released predictions' rule: a name matches whatever its base name is without folder and file
extension (`Val/Angry/x.png`, `x.png` and `x` are one sample); names of digits only also match
without leading zeros (`00001` is `1`).

- Image datasets take image files; video datasets video files or frame folders (a folder named
  after the sample that holds image files); the multimodal and tweet datasets also a text:
  `--text FILE` (CSV; columns `name,text`, or others named by `--text-columns`), else a
  `<name>.txt` file under ROOT (MVSA's own layout), else CMU-MOSI's `*.annotprocessed`.
- A test sample with no media: exit 2 naming every such sample (`--allow-missing` writes the
  rest and lists them). A sample matched by two files is settled by the list's sub-folder
  (`1/x.jpg` is not `2/x.jpg`), else by taking the only one outside a training folder
  (`Train/`, `training_set/`, `FER2013Train/`...); otherwise exit 2 naming both (`--prefer
  files` or `--prefer frames` settles a video file beside a frame folder of the same clip).

The manifest is a CSV `sample_id,gt,image|video[,text]` with media paths relative to its folder.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ger_replay.errors import InputError
from ger_replay.protocol import datasets
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.rules import Rules, UnknownLabel
from ger_replay.record import transcripts

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"})
VIDEO_EXTS = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".webm", ".flv", ".mpg", ".mpeg", ".m4v", ".wmv"}
)
MAX_DEPTH = 16
_EXT = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")


class ManifestBuildError(InputError):
    """Every missing sample or double match at once; `problems` lists them."""

    def __init__(self, head: str, problems: Sequence[str], path: Path | None = None) -> None:
        super().__init__("\n  ".join([head, *problems]), path)
        self.problems = list(problems)


def match_key(name: str) -> str:
    """The name-matching rule: base name without folder and extension (the released
    predictions' `sample_key`); digits only: without leading zeros."""
    base = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    key = _EXT.sub("", base)
    if key.isdigit():
        key = key.lstrip("0") or "0"
    return key


@dataclass(frozen=True)
class TestSample:
    sample_id: str
    gt: str
    #: the name as the list gives it (it may hold a sub-folder that settles a double match)
    name: str = ""


def _read_rows(path: Path, columns: tuple[str, str], what: str) -> list[tuple[int, str, str]]:
    """(line, first, second) of the two named columns of a CSV, errors naming file and line."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what} not found", path) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", path) from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    idx = []
    for c in columns:
        if c not in header:
            raise InputError(
                f"{what} needs the columns {','.join(columns)}; "
                f"found {','.join(header) or '(none)'}",
                path,
                1,
            )
        idx.append(header.index(c))
    out = []
    for rec in reader:
        line = reader.line_num
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) <= max(idx):
            raise InputError(f"expected {len(header)} fields, found {len(rec)}", path, line)
        out.append((line, rec[idx[0]], rec[idx[1]]))
    if not out:
        raise InputError(f"{what} lists no rows", path)
    return out


def read_labels(path: Path, ds: Dataset) -> list[TestSample]:
    """`--labels FILE`: `name,gt` rows, every label checked against the dataset."""
    from ger_replay.io.released import sample_key

    rules = Rules(ds)
    out: list[TestSample] = []
    seen: dict[str, int] = {}
    for line, name, gt in _read_rows(path, ("name", "gt"), "the labels file"):
        key = sample_key(name)
        if not key:
            raise InputError("empty name", path, line)
        if key in seen:
            raise InputError(f"sample {key!r} listed twice (first on line {seen[key]})", path, line)
        seen[key] = line
        try:
            rules.truth(gt.strip())
        except UnknownLabel as e:
            raise InputError(str(e), path, line) from None
        out.append(TestSample(key, gt.strip(), name.strip()))
    return out


def _dataset_folder(tests: Path, ds: Dataset) -> Path:
    """The released folder of `ds`: TESTS itself, or the sub-folder named by the key or an alias."""
    if not tests.is_dir():
        raise InputError("expected the released predictions folder (results/)", tests)
    names = {ds.key, *ds.folders}
    if tests.name in names:
        return tests
    for sub in sorted(tests.iterdir()):
        if sub.is_dir() and not sub.is_symlink() and sub.name in names:
            return sub
    raise InputError(
        f"no folder for {ds.key} (looked for {', '.join(sorted(names))}) in the released "
        "predictions; give --labels FILE (name,gt) for a dataset with no released list",
        tests,
    )


def released_tests(tests: Path, ds: Dataset, agree: str = "three") -> tuple[list[TestSample], Path]:
    """The test list of `ds` from the released predictions folder, and the file it came from.
    Twitter I: the list of `agree` (five, four or three annotators agreeing; three holds the
    other two)."""
    from ger_replay.io.released import read_frame, read_test_set

    folder = _dataset_folder(tests, ds)
    if ds.key == "twitter1":
        if agree not in datasets.TWITTER1_SUBSETS:
            raise InputError(f"--agree must be five, four or three, not {agree!r}")
        path = folder / datasets.TWITTER1_SUBSETS[agree]
    else:
        path = folder / "label.csv"
    df = read_test_set(path, Rules(ds))
    names = dict(read_frame(path).select("key", "name").iter_rows())
    return [TestSample(s, g, str(names.get(s) or s)) for s, g in df.iter_rows()], path


@dataclass
class Found:
    """Media found under ROOT per sample key: files and frame folders."""

    files: dict[str, list[Path]] = field(default_factory=dict)
    folders: dict[str, list[Path]] = field(default_factory=dict)
    texts: dict[str, list[Path]] = field(default_factory=dict)
    transcripts: list[Path] = field(default_factory=list)  # CMU-MOSI's *.annotprocessed


def _has_images(folder: Path) -> bool:
    try:
        with os.scandir(folder) as it:
            return any(
                e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_EXTS for e in it
            )
    except OSError:
        return False


def scan(root: Path, keys: set[str], kind: str, want_text: bool) -> Found:
    """Walks ROOT once (symlinked folders are not followed, at most MAX_DEPTH deep) and keeps
    the files whose key is a test sample's: images (`kind` image) or videos and frame folders
    (`kind` video), and `.txt` files when `want_text`."""
    if not root.is_dir():
        raise InputError("the media folder does not exist", root)
    exts = IMAGE_EXTS if kind == "image" else VIDEO_EXTS
    found = Found()
    base_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if len(here.parts) - base_depth >= MAX_DEPTH:
            dirnames.clear()
        dirnames.sort()
        if kind == "video":
            keep = []
            for d in dirnames:
                key = match_key(d)
                if key in keys and _has_images(here / d):
                    found.folders.setdefault(key, []).append(here / d)
                else:
                    keep.append(d)
            dirnames[:] = keep  # a frame folder's frames are no samples of their own
        for f in sorted(filenames):
            if f.startswith("."):
                continue
            ext = os.path.splitext(f)[1].lower()
            key = match_key(f)
            if want_text and ext == transcripts.SUFFIX:
                found.transcripts.append(here / f)
            elif key in keys and ext in exts:
                found.files.setdefault(key, []).append(here / f)
            elif key in keys and want_text and ext == ".txt":
                found.texts.setdefault(key, []).append(here / f)
    return found


def read_texts(path: Path, columns: tuple[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for line, name, text in _read_rows(path, columns, "the text file"):
        key = match_key(name)
        if key in seen:
            raise InputError(f"sample {key!r} has two texts (also line {seen[key]})", path, line)
        seen[key] = line
        out[key] = text
    return out


@dataclass
class BuildResult:
    path: Path
    written: int
    missing: list[str]
    tests_from: Path


def build(
    dataset: str,
    media: Path,
    out: Path,
    tests: Path | None = None,
    labels: Path | None = None,
    text: Path | None = None,
    text_columns: tuple[str, str] = ("name", "text"),
    allow_missing: bool = False,
    prefer: str | None = None,
    agree: str = "three",
) -> BuildResult:
    """Builds and writes the manifest; raises InputError / ManifestBuildError (exit 2)."""
    try:
        ds = datasets.get(dataset)
    except datasets.UnknownDataset as e:
        raise InputError(str(e)) from None
    if labels is not None:
        samples, source = read_labels(labels, ds), labels
    elif tests is not None:
        samples, source = released_tests(tests, ds, agree)
    else:
        raise InputError("give --tests RESULTS_DIR (the released predictions) or --labels FILE")
    kind = "video" if ds.modality in ("video", "multi") else "image"
    needs_text = ds.modality in ("image+text", "multi")
    keys = _keys(samples, source)
    found = scan(media, keys, kind, needs_text and text is None)
    texts = read_texts(text, text_columns) if (needs_text and text is not None) else None
    if texts is None and found.transcripts:  # CMU-MOSI's own transcripts
        said = transcripts.annotprocessed(found.transcripts)
        texts = {match_key(k): v for k, v in said.items()}
    column = "video" if kind == "video" else "image"
    rows, missing, problems = _rows(samples, found, texts, kind, needs_text, prefer, out, media)
    if problems:
        raise ManifestBuildError(
            f"{len(problems)} sample(s) matched by more than one file (point --media at one "
            "copy" + (", or pass --prefer files|frames" if kind == "video" else "") + "):",
            problems,
            media,
        )
    if missing and not allow_missing:
        raise ManifestBuildError(
            f"{len(missing)} of {len(samples)} test sample(s) of {ds.key} have no media under "
            f"{media} (--allow-missing writes the rest):",
            missing,
            source,
        )
    if not rows:
        raise InputError(f"no test sample of {ds.key} has its media under the folder", media)
    _write(out, column, needs_text, rows)
    return BuildResult(out, len(rows), missing, source)


def _keys(samples: Sequence[TestSample], source: Path) -> set[str]:
    """The match keys of the test list; two samples of one key are an error."""
    by_key: dict[str, str] = {}
    for s in samples:
        k = match_key(s.sample_id)
        if k in by_key:
            raise InputError(f"{by_key[k]!r} and {s.sample_id!r} have the same name", source)
        by_key[k] = s.sample_id
    return set(by_key)


def _rows(
    samples: Sequence[TestSample],
    found: Found,
    texts: dict[str, str] | None,
    kind: str,
    needs_text: bool,
    prefer: str | None,
    out: Path,
    media: Path,
) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """(manifest rows, samples without media, samples matched twice)."""
    problems: list[str] = []
    missing: list[str] = []
    rows: list[dict[str, str]] = []
    column = "video" if kind == "video" else "image"
    for s in samples:
        key = match_key(s.sample_id)
        files = found.files.get(key, [])
        folders = found.folders.get(key, [])
        if files and folders and prefer in ("files", "frames"):
            files, folders = (files, []) if prefer == "files" else ([], folders)
        hits = files + folders
        if len(hits) > 1:
            hits = settle(hits, s.name, media)
        if len(hits) > 1:
            problems.append(
                f"{s.sample_id}: matched by {len(hits)} files: " + ", ".join(map(str, hits))
            )
            continue
        reason = None if hits else f"no {'video or frame folder' if kind == 'video' else 'image'}"
        row = {"sample_id": s.sample_id, "gt": s.gt}
        if hits:
            row[column] = os.path.relpath(hits[0], out.parent.resolve())
        if needs_text:
            t = _text_of(key, texts, found, problems)
            if t is None and reason is None:
                reason = "no text"
            row["text"] = t or ""
        if reason is not None:
            missing.append(f"{s.sample_id} ({reason})")
            continue
        rows.append(row)
    return rows, missing, problems


_TRAIN = re.compile(r"(?i)^(?:train|training)(?:[_\- ]?(?:set|data|images?|clips?))?$|train$")


def settle(hits: list[Path], name: str, media: Path) -> list[Path]:
    """Settles a double match: the file whose path ends with the list's name (sub-folder
    included), else the only one outside a training folder (`Train/`, `training_set/`, ...)."""
    stem = _EXT.sub("", name.strip().replace("\\", "/")).strip("/")
    if "/" in stem:
        ends = [h for h in hits if _EXT.sub("", h.as_posix()).endswith("/" + stem)]
        if len(ends) == 1:
            return ends
    outside = [
        h for h in hits if not any(_TRAIN.search(p) for p in h.relative_to(media).parts[:-1])
    ]
    return outside if len(outside) == 1 else hits


def _text_of(
    key: str, texts: dict[str, str] | None, found: Found, problems: list[str]
) -> str | None:
    if texts is not None:
        return texts.get(key)
    files = found.texts.get(key, [])
    if len(files) > 1:
        problems.append(f"{key}: matched by {len(files)} text files: " + ", ".join(map(str, files)))
        return None
    if not files:
        return None
    try:
        return files[0].read_text(encoding="utf-8", errors="replace").strip()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", files[0]) from None


def _write(out: Path, column: str, text: bool, rows: Iterable[dict[str, str]]) -> None:
    from ger_replay.io.rundir import atomic_write_text

    cols = ["sample_id", "gt", column, *(["text"] if text else [])]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out, buf.getvalue())
