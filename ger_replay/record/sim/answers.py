"""The simulator's answers: a ranking per item, right with a set probability, written in one of
the shapes of PROTOCOL.md part 8."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.rules import Rules, UnknownLabel

REFUSAL = "I'm sorry, I can't help with that."
PREAMBLES: tuple[str, ...] = (
    "As an emotion recognition expert, I will analyze each input and sort the categories.",
    "Here are the results for each input, sorted from most to least similar:",
    "Based on the visual cues, the rankings are as follows.",
)
CLOSING = (
    "Please note that the classification of emotions can be subjective and these rankings are "
    "based on visible cues only."
)
INVENTED: tuple[str, ...] = ("Pain", "Confusion", "Boredom")
ORDINALS: tuple[str, ...] = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
)  # fmt: skip
SHAPES: tuple[str, ...] = (
    "numbered_one_line",
    "lines",
    "numbered_lines",
    "json",
    "fenced_json",
    "for_each",
)
#: rankings are cut to this many labels (the prompts ask for the top 5)
TOP = 5


@dataclass(frozen=True)
class Item:
    """One answered item: its name in the answer and its ranking."""

    name: str
    ranking: tuple[str, ...]


class Oracle:
    """Rankings for a dataset's samples: right with probability `accuracy`."""

    def __init__(self, dataset: Dataset, accuracy: float):
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError(f"accuracy must be within [0, 1], got {accuracy}")
        self.dataset = dataset
        self.accuracy = accuracy
        self.rules = Rules(dataset)
        self.labels = dataset.labels

    def _truth_class(self, gt: str | None) -> str | None:
        if gt is None:
            return None
        try:
            return self.rules.truth(gt)
        except UnknownLabel:
            return None

    def ranking(self, gt: str | None, rng: random.Random) -> tuple[str, ...]:
        """A ranking whose top label scores as `gt` with probability `accuracy` (and as another
        class otherwise); an unknown sample gets a random ranking."""
        truth = self._truth_class(gt)
        labels = list(self.labels)
        if truth is None:
            rng.shuffle(labels)
            return tuple(labels[:TOP])
        right = [lab for lab in labels if self.rules.binarize(lab) == truth]
        wrong = [lab for lab in labels if self.rules.binarize(lab) != truth]
        correct = rng.random() < self.accuracy or not wrong
        pool = right if correct else wrong
        # prefer the spelling of the ground truth itself where it is a candidate
        canonical = self.rules.space.canonical(gt) if gt is not None else None
        top = canonical if correct and canonical in right else rng.choice(pool)
        rest = [lab for lab in labels if lab != top]
        rng.shuffle(rest)
        return tuple([top, *rest][:TOP])


def _py_dict(item: Item) -> str:
    return "{'name': %r, 'result': %r}" % (item.name, list(item.ranking))  # noqa: UP031


def compose_answer(
    items: Sequence[Item], shape: str, rng: random.Random, kind: str = "image"
) -> str:
    """The answer text of items in one shape (`kind`: image, video or text)."""
    pre = rng.choice(PREAMBLES)
    if shape == "numbered_one_line":
        return pre + " " + "".join(f"{i}. {_py_dict(it)}" for i, it in enumerate(items, 1))
    if shape == "lines":
        return "\n".join(_py_dict(it) for it in items)
    if shape == "numbered_lines":
        body = "\n".join(f"{i}. {_py_dict(it)}" for i, it in enumerate(items, 1))
        return f"{pre}\n\n{body}\n\n{CLOSING}"
    if shape in ("json", "fenced_json"):
        payload = json.dumps([{"name": it.name, "result": list(it.ranking)} for it in items])
        return payload if shape == "json" else f"```json\n{payload}\n```"
    if shape == "for_each":
        lines = []
        for i, it in enumerate(items, 1):
            where = f"the {ORDINALS[i - 1]} {kind}" if i <= len(ORDINALS) else f"{kind} {i}"
            lines.append(f"For {where}: {_py_dict(it)}")
        return pre + "\n" + "\n".join(lines)
    raise ValueError(f"unknown answer shape {shape!r}; known: {', '.join(SHAPES)}")


def item_name(kind: str, i: int, rng: random.Random) -> str:
    """How the model names the i-th item: "Image 3" or "image-3" (videos: "Video 3", "video3")."""
    if kind == "video":
        return rng.choice((f"Video {i}", f"video{i}"))
    if kind == "text":
        return f"Text {i}"
    return rng.choice((f"Image {i}", f"image-{i}"))


def wants_json(body: dict[str, Any]) -> bool:
    """The request asks for JSON output (`response_format` json_schema or json_object)."""
    rf = body.get("response_format")
    return isinstance(rf, dict) and rf.get("type") in ("json_schema", "json_object")


def compose_json(items: Sequence[Item]) -> str:
    """The answer to a request for JSON output: `{"results": [{"name", "result"}]}`."""
    return json.dumps({"results": [{"name": it.name, "result": list(it.ranking)} for it in items]})
