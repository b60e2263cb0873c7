"""`score` over the released sample runs against the same scoring in pandas + scikit-learn."""

from __future__ import annotations

from pathlib import Path

from common import SHARED_DATA, Result, best_time, peak_mb


def _ours(paths: list[Path]) -> list[dict]:
    from ger_replay.io import load as sources
    from ger_replay.score.scoring import score_table

    return score_table(sources.load(paths).table).rows


def peer_score(results_dir: Path) -> dict[str, float]:
    """PROTOCOL.md part 3 written directly with pandas and scikit-learn: the peer."""
    import pandas as pd
    from sklearn.metrics import accuracy_score, f1_score

    syn = {
        "happy": "happiness",
        "sad": "sadness",
        "angry": "anger",
        "surprised": "surprise",
        "fearful": "fear",
        "disgusted": "disgust",
        "worried": "worry",
        "content": "contentment",
        "other": "others",
    }
    from ger_replay.protocol import datasets

    def fold(x: str) -> str:
        k = " ".join(str(x).lower().split())
        return syn.get(k, k)

    out = {}
    for folder in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        ds = datasets.get(folder.name)
        cands = {fold(c) for c in ds.labels}
        for f in sorted(folder.glob("label-*gpt4v*.csv")):
            run = pd.read_csv(f)
            if ds.key == "twitter1":
                word = f.stem.split("-")[1]
                test = pd.read_csv(folder / datasets.TWITTER1_SUBSETS[word])
            else:
                test = pd.read_csv(folder / "label.csv")
            test["key"] = test["name"].astype(str).map(lambda s: Path(s).stem)
            run["key"] = run["name"].astype(str).map(lambda s: Path(s).stem)
            m = test[["key", "gt"]].merge(run[["key", "gpt4v"]], on="key", how="inner")
            m = m[m["gpt4v"].notna()]

            def first(cell: str, cands: set[str] = cands) -> str | None:
                for lab in str(cell).split(","):
                    k = fold(lab)
                    if k in cands:
                        return k
                return None

            m["pred"] = m["gpt4v"].map(first)
            m = m[m["pred"].notna()]
            if ds.binary == "sentiment_score":
                m = m[m["gt"].astype(float) != 0]
                yt = (m["gt"].astype(float) > 0).map({True: "positive", False: "negative"})
                yp = m["pred"].isin(ds.positive_labels).map({True: "positive", False: "negative"})
            elif ds.binary == "valence":
                yt = m["gt"].map(fold).map(ds.valence)
                yp = m["pred"].map(ds.valence)
            else:
                yt, yp = m["gt"].map(fold), m["pred"]
            if ds.metric == "WAF":
                v = f1_score(yt, yp, average="weighted")
            else:
                v = accuracy_score(yt, yp)
            out[f"{folder.name}/{f.stem}"] = v * 100
    return out


def ours_job(path: str) -> None:
    _ours([Path(path)])


def peer_job(path: str) -> None:
    peer_score(Path(path))


def run() -> list[Result]:
    if not SHARED_DATA.is_dir():
        return []
    ours_rows = _ours([SHARED_DATA])
    peer = peer_score(SHARED_DATA)
    agree = all(abs(r["value"] - peer[r["run"]]) < 1e-9 for r in ours_rows)
    t_ours = best_time(lambda: _ours([SHARED_DATA]), repeat=5)
    t_peer = best_time(lambda: peer_score(SHARED_DATA), repeat=3)
    return [
        Result(
            name=f"score {len(ours_rows)} released runs",
            ours_s=t_ours,
            peer="pandas + scikit-learn",
            peer_s=t_peer,
            ours_mb=peak_mb("bench_score", "ours_job", str(SHARED_DATA)),
            peer_mb=peak_mb("bench_score", "peer_job", str(SHARED_DATA)),
            note="values agree" if agree else "VALUES DIFFER",
        )
    ]
