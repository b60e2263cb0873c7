"""Answer texts in the shapes models give (PROTOCOL.md part 8 and beyond), written from known
rankings: the generator behind the parser's property tests and benchmark, and a source of
synthetic answers for simulated runs."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence

from oracle.reference import ORDINALS

Rankings = Sequence[Sequence[str]]

#: How items are named: a format of the item's number.
NAME_STYLES: dict[str, str] = {
    "image": "Image {}",
    "image-dash": "image-{}",
    "video": "video{}",
    "pair": "Image-text pair {}",
    "img-file": "image_{}.jpg",
    "sample-hash": "Sample #{}",
}


PREAMBLES = (
    "",
    "As an emotion recognition expert, I will analyze the images provided.\n",
    "Sure! Here are the results for each input, sorted from most to least similar:\n\n",
    "Based on the visual cues, here is my assessment. ",
)
CLOSINGS = (
    "",
    "\nPlease note that the classification of emotions can be subjective.",
    "\n\nThese rankings are based on visible facial cues and may not reflect true feelings.",
)


def _py_list(labels: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{lab}'" for lab in labels) + "]"


def _numbers(n: int, base: int, order: Sequence[int]) -> list[int]:
    return [order[i] + base for i in range(n)]


def paper(names: Sequence[str], rankings: Rankings, rng: random.Random) -> str:
    """`1. {'name': 'Image 1', 'result': [...]}2. {...}` run together, or one per line."""
    sep = rng.choice(["", "\n", " "])
    numbered = rng.random() < 0.7
    parts = []
    for i, (name, r) in enumerate(zip(names, rankings, strict=True)):
        rec = f"{{'name': '{name}', 'result': {_py_list(r)}}}"
        parts.append(f"{i + 1}. {rec}" if numbered else rec)
    return sep.join(parts)


def json_array(names: Sequence[str], rankings: Rankings, rng: random.Random) -> str:
    """A JSON array of {"name", "result"} objects, in a code fence or not."""
    data = [{"name": n, "result": list(r)} for n, r in zip(names, rankings, strict=True)]
    body = json.dumps(data, indent=rng.choice([None, 2]), ensure_ascii=False)
    if rng.random() < 0.5:
        body = f"```json\n{body}\n```"
    return body


def json_nested(names: Sequence[str], rankings: Rankings, rng: random.Random) -> str:
    """{"results": [{"image": ..., "emotions": [...]}, ...]}."""
    key = rng.choice(["result", "emotions", "ranking"])
    data = {"results": [{"name": n, key: list(r)} for n, r in zip(names, rankings, strict=True)]}
    return json.dumps(data, ensure_ascii=False)


def json_keyed(names: Sequence[str], rankings: Rankings, rng: random.Random) -> str:
    """{"Image 1": [...], "Image 2": [...]}."""
    data = {n: list(r) for n, r in zip(names, rankings, strict=True)}
    return json.dumps(data, indent=rng.choice([None, 2]), ensure_ascii=False)


def markdown(names: Sequence[str], rankings: Rankings, rng: random.Random) -> str:
    """`**Image 1**: a, b, c` or `- Image 1: [a, b]`, one per line."""
    style = rng.choice(["bold", "dash", "plain", "bracket"])
    lines = []
    for name, r in zip(names, rankings, strict=True):
        labels = ", ".join(r)
        if style == "bold":
            lines.append(f"**{name}**: {labels}")
        elif style == "dash":
            lines.append(f"- {name} - {labels}")
        elif style == "plain":
            lines.append(f"{name}: {labels}")
        else:
            lines.append(f"{name}: {_py_list(r)}")
    return "\n".join(lines)


def vertical(names: Sequence[str], rankings: Rankings, rng: random.Random) -> str:
    """A heading per item and a numbered list of labels under it."""
    blocks = []
    for name, r in zip(names, rankings, strict=True):
        items = "\n".join(f"{k + 1}. {lab}" for k, lab in enumerate(r))
        blocks.append(f"### {name}\n{items}")
    return "\n\n".join(blocks)


def comma_string(names: Sequence[str], rankings: Rankings, rng: random.Random) -> str:
    """Records whose result is one quoted comma list."""
    return "\n".join(
        f'{{"name": "{n}", "result": "{", ".join(r)}"}}'
        for n, r in zip(names, rankings, strict=True)
    )


#: Shapes that carry item names (items may come in any order).
NAMED_SHAPES: dict[str, Callable[[Sequence[str], Rankings, random.Random], str]] = {
    "paper": paper,
    "json_array": json_array,
    "json_nested": json_nested,
    "json_keyed": json_keyed,
    "markdown": markdown,
    "vertical": vertical,
    "comma_string": comma_string,
}


def ordinal(rankings: Rankings, rng: random.Random) -> str:
    """`For the first image: {'result': [...]}` (up to twenty items, in order)."""
    return "\n".join(
        f"For the {ORDINALS[i]} image: {{'result': {_py_list(r)}}}" for i, r in enumerate(rankings)
    )


def bare_lines(rankings: Rankings, rng: random.Random) -> str:
    """`1. a, b, c` per line, no names (in order)."""
    return "\n".join(f"{i + 1}. {', '.join(r)}" for i, r in enumerate(rankings))


def bare_lists(rankings: Rankings, rng: random.Random) -> str:
    """A list of lists, no names (in order)."""
    return json.dumps([list(r) for r in rankings], ensure_ascii=False)


#: Shapes without names (items in order).
ORDERED_SHAPES: dict[str, Callable[[Rankings, random.Random], str]] = {
    "ordinal": ordinal,
    "bare_lines": bare_lines,
    "bare_lists": bare_lists,
}


def answer(
    rankings: Rankings,
    shape: str,
    rng: random.Random,
    name_style: str = "image",
    base: int = 1,
    shuffle: bool = False,
    preamble: str | None = None,
    closing: str | None = None,
) -> str:
    """An answer of `shape` holding `rankings` in this order of items."""
    n = len(rankings)
    if shape in ORDERED_SHAPES:
        body = ORDERED_SHAPES[shape](rankings, rng)
    else:
        order = list(range(n))
        if shuffle:
            rng.shuffle(order)
        fmt = NAME_STYLES[name_style]
        names = [fmt.format(i + base) for i in order]
        body = NAMED_SHAPES[shape](names, [rankings[i] for i in order], rng)
    pre = rng.choice(PREAMBLES) if preamble is None else preamble
    post = rng.choice(CLOSINGS) if closing is None else closing
    return pre + body + post
