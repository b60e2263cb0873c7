"""What the simulator knows of a manifest: for every image it may be sent (each image file, and
every frame of every video or frame folder, in RGB and in gray, encoded exactly as requests encode
them) the sample it belongs to; and the same for every text. Indexing every frame covers every
frame count and every plan a request may use."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from ger_replay.errors import InputError
from ger_replay.protocol.datasets import Dataset
from ger_replay.protocol.prompts import TASK_MODALITIES
from ger_replay.protocol.settings import Sample
from ger_replay.record import media
from ger_replay.record.manifest import ManifestError, load_manifest
from ger_replay.record.messages import clean_text, digest_bytes

COLORS: tuple[str, ...] = ("rgb", "gray")


def text_key(text: str) -> str:
    return hashlib.sha256(clean_text(text).encode("utf-8")).hexdigest()


@dataclass
class MediaIndex:
    samples: dict[str, Sample] = field(default_factory=dict)
    #: image digest -> sample id
    images: dict[str, str] = field(default_factory=dict)
    #: text key -> sample id
    texts: dict[str, str] = field(default_factory=dict)

    def sample_of_image(self, digest: str) -> str | None:
        return self.images.get(digest)

    def sample_of_text(self, text: str) -> str | None:
        return self.texts.get(text_key(text))


def _add_frame(index: MediaIndex, frame: media.Frame, sid: str) -> None:
    for color in COLORS:
        index.images.setdefault(digest_bytes(media.to_jpeg(frame, color)), sid)


def _index_video(index: MediaIndex, path: Path, sid: str) -> None:
    if path.is_dir():
        for p in sorted(q for q in path.iterdir() if q.is_file() and not q.name.startswith(".")):
            _add_frame(index, media.read_image(p), sid)
        return
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError("OpenCV cannot open this file as a video", path)
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            _add_frame(index, frame, sid)
    finally:
        cap.release()


def load_samples(manifest: Path, dataset: Dataset) -> list[Sample]:
    """The manifest's samples under the first modality of the dataset it satisfies."""
    first: ManifestError | None = None
    for modality in TASK_MODALITIES[dataset.task]:
        try:
            return load_manifest(manifest, dataset, modality)
        except ManifestError as e:
            first = first or e
    assert first is not None
    raise first


def build_index(manifest: Path, dataset: Dataset) -> MediaIndex:
    index = MediaIndex()
    for s in load_samples(Path(manifest), dataset):
        index.samples[s.sample_id] = s
        if s.image is not None and s.image.is_file():
            _add_frame(index, media.read_image(s.image), s.sample_id)
        if s.video is not None and (s.video.is_file() or s.video.is_dir()):
            _index_video(index, s.video, s.sample_id)
        if s.text is not None:
            index.texts.setdefault(text_key(s.text), s.sample_id)
    return index
