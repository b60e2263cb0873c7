"""The dataset registry holds PROTOCOL.md part 1 and the label folding of part 3."""

from __future__ import annotations

import pytest

from ger_replay.protocol import DATASETS, Binary, Task, datasets, fold
from ger_replay.protocol.labels import LabelSpace


def test_twenty_one_datasets_in_six_tasks() -> None:
    assert len(DATASETS) == 21
    assert {d.task for d in DATASETS.values()} == set(Task)
    counts = {t: len(datasets.by_task(t)) for t in Task}
    assert counts == {
        Task.VISUAL_SENTIMENT: 4,
        Task.TWEET_SENTIMENT: 2,
        Task.MICRO_EXPRESSION: 3,
        Task.FACIAL_EMOTION: 5,
        Task.DYNAMIC_FACIAL: 4,
        Task.MULTIMODAL: 3,
    }


def test_metrics_and_sizes_follow_the_protocol() -> None:
    war = {k for k, d in DATASETS.items() if d.metric == "WAR"}
    waf = {k for k, d in DATASETS.items() if d.metric == "WAF"}
    assert war == {"dfew", "ferv39k", "ravdess", "enterface"}
    assert waf == {"cmumosi", "chsims", "mer_multi"}
    assert DATASETS["affectnet"].test_samples == 4000
    assert DATASETS["ferv39k"].test_samples == 7847
    assert sum(d.test_samples for d in DATASETS.values()) == 32203


def test_candidate_labels_keep_prompt_spelling() -> None:
    assert DATASETS["sfew2"].labels == (
        "Angry",
        "Disgust",
        "Fear",
        "Happy",
        "Neutral",
        "Sad",
        "Surprise",
    )
    assert DATASETS["ravdess"].labels[0] == "surprised"
    assert DATASETS["samm"].labels[-1] == "Other"
    assert DATASETS["abstract"].labels[3] == "Content"


def test_folder_aliases() -> None:
    assert datasets.get("casme1").key == "casme"
    assert datasets.get("sims").key == "chsims"
    assert datasets.get("mer2023").key == "mer_multi"
    with pytest.raises(datasets.UnknownDataset, match="unknown dataset 'nope'"):
        datasets.get("nope")


def test_binary_rules() -> None:
    for key in ("abstract", "artphoto"):
        d = DATASETS[key]
        assert d.binary is Binary.VALENCE
        folded = fold(list(d.labels))
        assert sorted(d.valence[k] for k in folded) == ["negative"] * 4 + ["positive"] * 4
    for key in ("cmumosi", "chsims"):
        assert DATASETS[key].binary is Binary.SENTIMENT_SCORE
    assert DATASETS["mer_multi"].binary is Binary.NONE
    assert datasets.TWITTER1_SUBSETS["four"] == "label_at_least_four_agree.csv"


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("Happy", "happiness"),
        ("sad", "sadness"),
        ("ANGRY", "anger"),
        ("surprised", "surprise"),
        ("fearful", "fear"),
        ("disgusted", "disgust"),
        ("worried", "worry"),
        ("content", "contentment"),
        ("other", "others"),
    ],
)
def test_synonyms_fold_to_one_form(variant: str, canonical: str) -> None:
    assert fold([variant, canonical]) == [canonical, canonical]


def test_every_dataset_has_a_label_space_without_clashes() -> None:
    for d in DATASETS.values():
        space = LabelSpace(d.labels)
        for lab in d.labels:
            assert space.canonical(lab.upper()) == lab
        assert space.canonical("Pain") is None


def test_datasets_command_lists_the_registry() -> None:
    import json

    from click.testing import CliRunner

    from ger_replay.cli import main

    res = CliRunner().invoke(main, ["datasets", "--format", "json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert len(rows) == 21
    mosi = next(r for r in rows if r["key"] == "cmumosi")
    assert mosi["metric"] == "WAF" and mosi["scored_as"] == "positive/negative"
