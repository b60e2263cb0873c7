"""The shapes shared by the recording side: one sample of a manifest, and a run's request
settings. Manifests (manifest.py) produce samples; messages.py turns samples and settings into a
chat request; the recorder and the simulator both read these."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

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

    model: str = "gpt-4o"
    #: "1", "2", "3" (PROTOCOL.md part 6) or the text of a user's template file
    template: str = "1"
    frames: int = 3
    color: Color = "rgb"
    modality: Modality = "image"
    frame_plan: FramePlan = "public"
    #: None: no temperature is sent (reasoning models take only their default)
    temperature: float | None = 0.0
    max_tokens: int = 1000
    #: "max_tokens", "max_completion_tokens" or "auto" (by the model, see endpoint.py)
    token_field: str = "auto"
    #: None or "text": free text; "json": a JSON schema of one entry per sample
    response_format: str | None = None
    #: further body fields, as given (`--param KEY=VALUE`); they win over the fields above
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resolved_token_field(self) -> str:
        return self.token_field if self.token_field != "auto" else token_field_for(self.model)


_REASONING = re.compile(r"^(?:o\d+(?:-|$)|gpt-5)")
_NEW_OPENAI = re.compile(r"^(?:o\d+(?:-|$)|gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5)")


def _bare(model: str) -> str:
    """The model name without a vendor prefix ("openai/gpt-4o" -> "gpt-4o")."""
    return model.rsplit("/", 1)[-1].strip().lower()


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...): default temperature only."""
    return bool(_REASONING.match(_bare(model)))


def token_field_for(model: str) -> str:
    """The token-limit field a model's endpoint wants: `max_completion_tokens` for gpt-4o and
    later, gpt-4.1, gpt-5 and the o-series, else `max_tokens`."""
    return "max_completion_tokens" if _NEW_OPENAI.match(_bare(model)) else "max_tokens"
