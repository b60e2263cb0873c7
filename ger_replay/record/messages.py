"""The OpenAI chat `messages` of one batch, as the public code composes them (PROTOCOL.md part 6).

One user message whose content is the prompt, then per sample:
- image tasks: a text part `image-{i}` and the image;
- tweet sentiment: `image-{i}`, the image, then the tweet's text as a plain text part;
- video: for each planned frame j a text part `video{i}_image{j}` and the frame;
- multimodal (video+text): the text as a plain part, then the labelled frames;
- text only: the text as a plain part.

Images are JPEG (OpenCV) in base64 data URLs. Texts are cleaned as the public code cleans them:
stripped, with newlines and tabs removed. The same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from ger_replay.errors import InputError
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.prompts import render_prompt, resolve_modality
from ger_replay.protocol.settings import RequestSettings, Sample
from ger_replay.record import media

DATA_URL_PREFIX = "data:image/jpeg;base64,"
DIGEST_PREFIX = "sha256:"


def clean_text(text: str) -> str:
    """The public code's text cleaning: strip, drop newlines and tabs, strip again."""
    return text.strip().replace("\n", "").replace("\t", "").strip()


def image_part(jpeg: bytes) -> dict[str, Any]:
    url = DATA_URL_PREFIX + base64.b64encode(jpeg).decode("ascii")
    return {"type": "image_url", "image_url": {"url": url}}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _need(sample: Sample, field: str) -> Any:
    value = getattr(sample, field)
    if value is None:
        raise InputError(f"sample {sample.sample_id!r} has no {field} (the request needs one)")
    return value


def sample_parts(
    i: int, sample: Sample, modality: str, settings: RequestSettings, has_image: bool
) -> list[dict[str, Any]]:
    """The content parts of the i-th sample of a batch (i counts from 1)."""
    parts: list[dict[str, Any]] = []
    if modality == "image" or (modality == "multi" and has_image):
        parts.append(text_part(f"image-{i}"))
        parts.append(image_part(media.encode_image(_need(sample, "image"), settings.color)))
        if modality == "multi":
            parts.append(text_part(clean_text(_need(sample, "text"))))
        return parts
    if modality in ("multi", "text"):
        parts.append(text_part(clean_text(_need(sample, "text"))))
        if modality == "text":
            return parts
    frames = media.video_frames(
        _need(sample, "video"), settings.frames, settings.frame_plan, settings.color
    )
    for j, jpeg in enumerate(frames, start=1):
        parts.append(text_part(f"video{i}_image{j}"))
        parts.append(image_part(jpeg))
    return parts


def build_messages(
    dataset: Dataset, samples: Sequence[Sample], settings: RequestSettings
) -> list[dict[str, Any]]:
    """The chat messages of one batch of samples."""
    if not samples:
        raise InputError("a batch needs at least one sample")
    modality = resolve_modality(dataset, settings.modality)
    has_image = modality == "multi" and dataset.modality == "image+text"
    content: list[dict[str, Any]] = [text_part(render_prompt(dataset, len(samples), settings))]
    for i, s in enumerate(samples, start=1):
        content.extend(sample_parts(i, s, modality, settings, has_image))
    return [{"role": "user", "content": content}]


def iter_image_urls(messages: Sequence[dict[str, Any]]) -> Iterator[str]:
    """The URL of every image part, in order."""
    for m in messages:
        content = m.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, dict) and part.get("type") == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                if isinstance(url, str):
                    yield url


def digest_of_url(url: str) -> str:
    """`sha256:<hex>` of a data URL's decoded bytes; a digest is returned as it is."""
    if url.startswith(DIGEST_PREFIX):
        return url
    _, sep, payload = url.partition(";base64,")
    if not sep:
        raise ValueError(f"not a base64 data URL: {url[:40]!r}")
    return digest_bytes(base64.b64decode(payload))


def digest_bytes(data: bytes) -> str:
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def image_digests(messages: Sequence[dict[str, Any]]) -> list[str]:
    """`sha256:<hex>` of each image's decoded bytes, in order (digests pass through unchanged)."""
    return [digest_of_url(u) for u in iter_image_urls(messages)]
