"""The dataset registry of PROTOCOL.md part 1: the one place every other module reads.

Each dataset has its task, its input modality, the candidate labels in the spelling the prompt
sends, its metric, and how ground truth and predictions are binarized where the paper scores a
dataset as positive/negative (PROTOCOL.md part 3, rules 4 and 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl


class Task(StrEnum):
    VISUAL_SENTIMENT = "visual_sentiment"
    TWEET_SENTIMENT = "tweet_sentiment"
    MICRO_EXPRESSION = "micro_expression"
    FACIAL_EMOTION = "facial_emotion"
    DYNAMIC_FACIAL = "dynamic_facial"
    MULTIMODAL = "multimodal"


class Binary(StrEnum):
    """How a dataset is reduced to positive/negative before scoring."""

    NONE = "none"
    #: Ground truth and prediction are labels mapped through `Dataset.valence`.
    VALENCE = "valence"
    #: Ground truth is a sentiment score (0 left out, > 0 positive); the prediction is positive
    #: when its top label is one of `Dataset.positive_labels`, negative otherwise.
    SENTIMENT_SCORE = "sentiment_score"


TASK_TITLES: dict[Task, str] = {
    Task.VISUAL_SENTIMENT: "Visual sentiment analysis",
    Task.TWEET_SENTIMENT: "Tweet sentiment analysis",
    Task.MICRO_EXPRESSION: "Micro-expression recognition",
    Task.FACIAL_EMOTION: "Facial emotion recognition",
    Task.DYNAMIC_FACIAL: "Dynamic facial emotion recognition",
    Task.MULTIMODAL: "Multimodal emotion recognition",
}

#: The input each task sends by default (PROTOCOL.md part 1).
TASK_MODALITY: dict[Task, str] = {
    Task.VISUAL_SENTIMENT: "image",
    Task.TWEET_SENTIMENT: "image+text",
    Task.MICRO_EXPRESSION: "image",
    Task.FACIAL_EMOTION: "image",
    Task.DYNAMIC_FACIAL: "video",
    Task.MULTIMODAL: "multi",
}

POSITIVE = "positive"
NEGATIVE = "negative"
BINARY_CLASSES: tuple[str, str] = (NEGATIVE, POSITIVE)

_VALENCE_ABSTRACT = {
    "amusement": POSITIVE,
    "awe": POSITIVE,
    "contentment": POSITIVE,
    "excitement": POSITIVE,
    "anger": NEGATIVE,
    "disgust": NEGATIVE,
    "fear": NEGATIVE,
    "sadness": NEGATIVE,
}


@dataclass(frozen=True)
class Dataset:
    key: str
    name: str
    task: Task
    test_samples: int
    metric: str
    labels: tuple[str, ...]
    binary: Binary = Binary.NONE
    #: folded label -> "positive"/"negative" (Binary.VALENCE)
    valence: dict[str, str] = field(default_factory=dict)
    #: folded top labels that count as positive (Binary.SENTIMENT_SCORE)
    positive_labels: frozenset[str] = frozenset()
    #: folder names of the released predictions that hold this dataset
    folders: tuple[str, ...] = ()
    note: str = ""

    @property
    def modality(self) -> str:
        return TASK_MODALITY[self.task]

    @property
    def score_classes(self) -> tuple[str, ...]:
        """The classes the metric is computed over (binary datasets: negative, positive)."""
        return BINARY_CLASSES if self.binary is not Binary.NONE else self.labels


_FACIAL7 = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")
_SENTIMENT5 = ("negative", "weakly negative", "neutral", "weakly positive", "positive")
_POSITIVE_TOP = frozenset({"positive", "weakly positive"})

DATASETS: dict[str, Dataset] = {
    d.key: d
    for d in [
        Dataset(
            "twitter1",
            "Twitter I",
            Task.VISUAL_SENTIMENT,
            1269,
            "ACC",
            ("positive", "negative"),
            note="scored on the 5, 4 and 3 agreement subsets",
        ),
        Dataset(
            "twitter2", "Twitter II", Task.VISUAL_SENTIMENT, 603, "ACC", ("positive", "negative")
        ),
        Dataset(
            "abstract",
            "Abstract",
            Task.VISUAL_SENTIMENT,
            228,
            "ACC",
            ("Amusement", "Anger", "Awe", "Content", "Disgust", "Excitement", "Fear", "Sad"),
            binary=Binary.VALENCE,
            valence=_VALENCE_ABSTRACT,
        ),
        Dataset(
            "artphoto",
            "ArtPhoto",
            Task.VISUAL_SENTIMENT,
            806,
            "ACC",
            ("disgust", "awe", "sad", "fear", "anger", "excitement", "contentment", "amusement"),
            binary=Binary.VALENCE,
            valence=_VALENCE_ABSTRACT,
        ),
        Dataset(
            "mvsa_single",
            "MVSA-Single",
            Task.TWEET_SENTIMENT,
            451,
            "ACC",
            ("positive", "neutral", "negative"),
        ),
        Dataset(
            "mvsa_multiple",
            "MVSA-Multiple",
            Task.TWEET_SENTIMENT,
            1702,
            "ACC",
            ("positive", "neutral", "negative"),
        ),
        Dataset(
            "casme",
            "CASME",
            Task.MICRO_EXPRESSION,
            195,
            "ACC",
            ("tense", "disgust", "repression", "surprise"),
            folders=("casme1",),
        ),
        Dataset(
            "casme2",
            "CASME II",
            Task.MICRO_EXPRESSION,
            247,
            "ACC",
            ("happiness", "surprise", "disgust", "repression", "others"),
        ),
        Dataset(
            "samm",
            "SAMM",
            Task.MICRO_EXPRESSION,
            159,
            "ACC",
            ("Anger", "Contempt", "Happiness", "Surprise", "Other"),
        ),
        Dataset(
            "ckplus",
            "CK+",
            Task.FACIAL_EMOTION,
            981,
            "ACC",
            ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"),
        ),
        Dataset("sfew2", "SFEW 2.0", Task.FACIAL_EMOTION, 436, "ACC", _FACIAL7),
        Dataset(
            "rafdb",
            "RAF-DB",
            Task.FACIAL_EMOTION,
            3068,
            "ACC",
            ("Surprise", "Fear", "Disgust", "Happiness", "Sadness", "Anger", "Neutral"),
        ),
        Dataset(
            "ferplus",
            "FERPlus",
            Task.FACIAL_EMOTION,
            3589,
            "ACC",
            (
                "neutral",
                "happiness",
                "surprise",
                "sadness",
                "anger",
                "disgust",
                "fear",
                "contempt",
            ),
        ),
        Dataset(
            "affectnet",
            "AffectNet",
            Task.FACIAL_EMOTION,
            4000,
            "ACC",
            (
                "Surprise",
                "Contempt",
                "Happiness",
                "Anger",
                "Neutral",
                "Sadness",
                "Fear",
                "Disgust",
            ),
        ),
        Dataset(
            "dfew",
            "DFEW",
            Task.DYNAMIC_FACIAL,
            2341,
            "WAR",
            ("Sad", "Neutral", "Angry", "Fear", "Surprise", "Happy", "Disgust"),
            note="fold 1",
        ),
        Dataset("ferv39k", "FERV39k", Task.DYNAMIC_FACIAL, 7847, "WAR", _FACIAL7),
        Dataset(
            "ravdess",
            "RAVDESS",
            Task.DYNAMIC_FACIAL,
            1440,
            "WAR",
            ("surprised", "neutral", "disgust", "sad", "happy", "calm", "fearful", "angry"),
        ),
        Dataset(
            "enterface",
            "eNTERFACE05",
            Task.DYNAMIC_FACIAL,
            1287,
            "WAR",
            ("happiness", "anger", "disgust", "fear", "surprise", "sadness"),
        ),
        Dataset(
            "cmumosi",
            "CMU-MOSI",
            Task.MULTIMODAL,
            686,
            "WAF",
            _SENTIMENT5,
            binary=Binary.SENTIMENT_SCORE,
            positive_labels=_POSITIVE_TOP,
        ),
        Dataset(
            "chsims",
            "CH-SIMS",
            Task.MULTIMODAL,
            457,
            "WAF",
            _SENTIMENT5,
            binary=Binary.SENTIMENT_SCORE,
            positive_labels=_POSITIVE_TOP,
            folders=("sims",),
        ),
        Dataset(
            "mer_multi",
            "MER-MULTI",
            Task.MULTIMODAL,
            411,
            "WAF",
            ("worried", "happy", "neutral", "angry", "surprised", "sad"),
            folders=("mer2023",),
        ),
    ]
}

#: Twitter I's agreement subsets: the word in the run file's name -> the test-set file.
TWITTER1_SUBSETS: dict[str, str] = {
    "five": "label_five_agree.csv",
    "four": "label_at_least_four_agree.csv",
    "three": "label_at_least_three_agree.csv",
}


class UnknownDataset(KeyError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"unknown dataset {self.key!r}; known: {', '.join(sorted(DATASETS))}"


def get(key: str) -> Dataset:
    """The dataset of a key (or of a released-predictions folder name)."""
    if key in DATASETS:
        return DATASETS[key]
    for d in DATASETS.values():
        if key in d.folders:
            return d
    raise UnknownDataset(key)


def registry_frame() -> pl.DataFrame:
    """The registry as a table, a row per dataset."""
    return pl.DataFrame(
        [
            {
                "key": d.key,
                "name": d.name,
                "task": str(d.task),
                "metric": d.metric,
                "test_samples": d.test_samples,
                "scored_as": "positive/negative" if d.binary is not Binary.NONE else "labels",
                "labels": ", ".join(d.labels),
            }
            for d in DATASETS.values()
        ]
    )


def by_task(task: Task) -> list[Dataset]:
    return [d for d in DATASETS.values() if d.task is task]
