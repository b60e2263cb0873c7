"""The shapes shared by the recording side: one sample of a manifest, and a run's request
settings. Manifests (manifest.py) produce samples; messages.py turns samples and settings into a
chat request; the recorder and the simulator both read these."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Color = Literal["rgb", "gray"]
Modality = Literal["image", "video", "text", "multi"]
FramePlan = Literal["public", "centred", "motion-peak"]


@dataclass(frozen=True)
class Sample:
    """One row of a manifest, with media paths resolved against the manifest's folder."""

    sample_id: str
    gt: str
    image: Path | None = None
    #: a video file, or a folder of pre-extracted frames
    video: Path | None = None
    #: inline text, or the contents of `text_file`
    text: str | None = None


@dataclass(frozen=True)
class RequestSettings:
    """Everything besides the samples that decides a request's bytes."""

    model: str = "gpt-4-vision-preview"
    #: "1", "2", "3" (PROTOCOL.md part 6) or the text of a user's template file
    template: str = "1"
    frames: int = 3
    color: Color = "rgb"
    modality: Modality = "image"
    frame_plan: FramePlan = "public"
    temperature: float = 0.0
    max_tokens: int = 1000
