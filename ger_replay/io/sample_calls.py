"""What a run folder recorded about one sample: every call that carried it, with the prompt,
the sample's own content (texts and image digests, never image bytes: cassettes hold digests),
the raw answer and the HTTP status. `ger-replay show RUN SAMPLE` prints it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ger_replay.errors import InputError
from ger_replay.io import cassettes, rundir, safe_read

#: Item markers the recorder puts before a sample's media: "image-3", "video3_image1".
_MARKER = re.compile(r"^(?:image-(\d+)|video(\d+)_image\d+)$")


@dataclass
class SampleCall:
    """One call that carried the sample."""

    cassette: str
    interaction: int
    #: 1-based place of the sample in the call, and the number of samples the call carried
    position: int
    n_items: int
    http_status: int
    prompt: str
    #: the sample's own parts: ("text", words) or ("image", "sha256:...")
    parts: list[tuple[str, str]] = field(default_factory=list)
    answer: str | None = None

    @property
    def digests(self) -> list[str]:
        return [v for k, v in self.parts if k == "image"]


def content_of(body: Any) -> list[dict[str, Any]]:
    """The content parts of a chat request body (JSON text, bytes or a dict)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body) if isinstance(body, str) else body
        content = data["messages"][0]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []


def _part(p: dict[str, Any]) -> tuple[str, str]:
    if p.get("type") == "image_url":
        url = p.get("image_url", {})
        return "image", str(url.get("url") if isinstance(url, dict) else url)
    return "text", str(p.get("text", ""))


def split_items(
    content: list[dict[str, Any]], n_items: int
) -> tuple[str, list[list[tuple[str, str]]]]:
    """(prompt, parts of each item) of a recorded request: the first text is the prompt; item
    markers ("image-2", "video2_image1") start an item's media; a text that is no marker belongs
    to the item whose marker follows it (multi: text before the frames), else to the current
    item, or (text alone) is an item of its own."""
    parts = [_part(p) for p in content]
    prompt = parts[0][1] if parts and parts[0][0] == "text" else ""
    items: list[list[tuple[str, str]]] = [[] for _ in range(n_items)]
    markers = [_MARKER.match(v) if k == "text" else None for k, v in parts]
    has_markers = any(markers)
    current, free = -1, 0
    for j in range(1, len(parts)):
        kind, value = parts[j]
        m = markers[j]
        if m:
            current = int(m.group(1) or m.group(2)) - 1
            continue
        if kind == "text" and not has_markers:
            current, free = free, free + 1
        elif kind == "text":
            nxt = next((markers[k] for k in range(j + 1, len(parts)) if markers[k]), None)
            if nxt and nxt.group(2) and int(nxt.group(2)) - 1 != current:
                current = int(nxt.group(2)) - 1
        if 0 <= current < n_items:
            items[current].append((kind, value))
    return prompt, items


def sample_calls(run_dir: Path, sample_id: str) -> list[SampleCall]:
    """Every recorded call of `run_dir` that carried `sample_id`, in cassette order."""
    folder = Path(run_dir) / rundir.CASSETTES
    out: list[SampleCall] = []
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = cassettes.load_cassette(safe_read.read_bytes(f), f)  # bounded, no links
        calls = cassettes.calls_of(data.get("metadata") or {}, len(data["interactions"]), f)
        for j, (meta, inter) in enumerate(zip(calls, data["interactions"], strict=True)):
            samples = [str(s) for s in meta["samples"]]
            if sample_id not in samples:
                continue
            k = samples.index(sample_id)
            prompt, items = split_items(content_of(inter["request"].get("body")), len(samples))
            response = inter["response"]
            out.append(
                SampleCall(
                    cassette=f"{rundir.CASSETTES}/{f.name}",
                    interaction=j,
                    position=k + 1,
                    n_items=len(samples),
                    http_status=int(response["status"]["code"]),
                    prompt=prompt,
                    parts=items[k],
                    answer=cassettes.answer_text(response),
                )
            )
    return out


def check_sample(known: list[str], sample_id: str, run: str) -> None:
    """An InputError naming a few valid ids when `sample_id` is not a sample of the run."""
    if sample_id not in known:
        hint = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
        raise InputError(f"run {run} has no sample {sample_id!r}; its samples: {hint}")
