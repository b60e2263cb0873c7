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


# --- answers as models give them to prompts written by others (one label an item, prose) -------

#: Explanations naming no label of any dataset (PROTOCOL.md part 1).
EXPLANATIONS = (
    "The eyebrows are drawn together and the lips are pressed into a thin line.",
    "The person in the image is looking straight at the camera with wide open eyes.",
    "There are visible creases around the eyes and the cheeks are raised.",
    "The corners of the mouth are pulled down and the gaze is lowered.",
    "The mouth is open and the head is tilted slightly back.",
)
DESCRIPTIONS = (
    "The image shows a person standing in front of a brick wall, wearing a dark jacket",
    "A woman with curly hair looks toward the window while holding a cup",
    "The photo is a close-up of a face with the eyes turned toward the left of the frame",
)
DECLINES = (
    "I'm sorry, but I can't identify people in images. However,",
    "I can’t identify who this is, but",
    "I'm unable to identify real people based on their faces. That said,",
)
REFUSAL_TEXTS = (
    "I'm sorry, I can't help with that.",
    "I’m unable to help with identifying emotions of people in images.",
    "I can’t determine the emotions of real people from photos.",
    "I won't be able to help with that request.",
)
NO_LABEL_TEXTS = (
    "The image shows a man in a blue shirt standing in front of a brick building.",
    "Could you please provide more context about the image?",
    "The face is turned away from the camera, so only the back of the head is visible.",
)


def _spelled(label: str, rng: random.Random) -> str:
    return rng.choice([label, label.lower(), label.capitalize()])


def label_explanation(tops: Sequence[str], rng: random.Random) -> str:
    """`joy, The person ...` for one item; numbered lines or `Image k:` lines for several."""
    sep = rng.choice([",", ":", " -", " —", "."])
    parts = [f"{_spelled(t, rng)}{sep} {rng.choice(EXPLANATIONS)}" for t in tops]
    if len(parts) == 1:
        return parts[0]
    if rng.random() < 0.5:
        return "\n".join(f"{i + 1}. {p}" for i, p in enumerate(parts))
    return "\n".join(f"Image {i + 1}: {p}" for i, p in enumerate(parts))


def label_closing(tops: Sequence[str], rng: random.Random) -> str:
    """A description, then the label as its last sentence (one item)."""
    end = rng.choice([".", "", "!", ".\n"])
    return f"{rng.choice(DESCRIPTIONS)}. {_spelled(tops[0], rng)}{end}"


def main_emotion(tops: Sequence[str], rng: random.Random) -> str:
    """`The primary emotion ... appears to be X` (one item; `X or Y` when two are given)."""
    adj = rng.choice(["primary", "dominant", "main", "predominant"])
    who = rng.choice(["", " of the person in the image", " displayed", " expressed here"])
    verb = rng.choice(["is", "appears to be", "seems to be"])
    named = " or ".join(_spelled(t, rng) for t in tops)
    return f"The {adj} emotion{who} {verb} {named}."


def label_per_line(tops: Sequence[str], rng: random.Random) -> str:
    """One label a line, plain, numbered or bulleted."""
    mark = rng.choice(["", "- ", "* "])
    return "\n".join(f"{mark}{_spelled(t, rng)}" for t in tops)


def markdown_table(tops: Sequence[str], rng: random.Random) -> str:
    """A table with a number, the label and an explanation per row."""
    rows = [
        f"| {i + 1} | {_spelled(t, rng)} | {rng.choice(EXPLANATIONS)} |" for i, t in enumerate(tops)
    ]
    return "| Image | Emotion | Explanation |\n|---|---|---|\n" + "\n".join(rows)


def json_results(tops: Sequence[str], rng: random.Random) -> str:
    """The JSON-mode schema `{"results": [{"name": "image-1", "result": [...]}, ...]}`, or a
    bare array of such objects, or `labels` / `emotion` in place of `result`."""
    key = rng.choice(["result", "labels", "emotion"])
    recs = [
        {"name": f"image-{i + 1}", key: t if key == "emotion" else [t]} for i, t in enumerate(tops)
    ]
    data: object = {"results": recs} if rng.random() < 0.6 else recs
    return json.dumps(data, indent=rng.choice([None, 2]), ensure_ascii=False)


def image_lines(tops: Sequence[str], rng: random.Random) -> str:
    """`Image 3: Happy` lines."""
    sep = rng.choice([": ", " - ", " → "])
    return "\n".join(f"Image {i + 1}{sep}{_spelled(t, rng)}" for i, t in enumerate(tops))


def decline_then_answer(tops: Sequence[str], rng: random.Random) -> str:
    """Declines to identify the person, then names the emotion (one item)."""
    verb = rng.choice(["appears to be", "seems", "looks"])
    return f"{rng.choice(DECLINES)} the person in the image {verb} {_spelled(tops[0], rng)}."


#: Shapes with one label an item (or two, hedged, for `main_emotion`): `tops` holds the label of
#: each item, in order.
LABEL_SHAPES: dict[str, Callable[[Sequence[str], random.Random], str]] = {
    "label_explanation": label_explanation,
    "label_closing": label_closing,
    "main_emotion": main_emotion,
    "label_per_line": label_per_line,
    "markdown_table": markdown_table,
    "json_results": json_results,
    "image_lines": image_lines,
    "decline_then_answer": decline_then_answer,
}
#: Shapes of `LABEL_SHAPES` that hold one item.
SINGLE_ITEM = frozenset({"label_closing", "main_emotion", "decline_then_answer"})
