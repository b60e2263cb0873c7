"""Transcripts as some multimodal datasets distribute them, for `ger-replay manifest`.

CMU-MOSI keeps one file per video, `Raw/Transcript/Segmented/<video>.annotprocessed`, whose
lines are `<segment>_DELIMITER_<text>`; segment `<n>` of video `<video>` is the sample
`<video>_<n>` of the released list.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ger_replay.errors import InputError

DELIMITER = "_DELIMITER_"
SUFFIX = ".annotprocessed"
MAX_BYTES = 1 << 20


def annotprocessed(paths: Iterable[Path]) -> dict[str, str]:
    """Sample name -> text from CMU-MOSI's segmented transcripts; a line without the delimiter
    is an error naming the file and line."""
    out: dict[str, str] = {}
    for path in paths:
        try:
            if path.stat().st_size > MAX_BYTES:
                raise InputError("a transcript file over 1 MiB", path)
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", path) from None
        video = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            segment, sep, said = line.partition(DELIMITER)
            if not sep or not segment.strip():
                raise InputError(f"expected <segment>{DELIMITER}<text>", path, n)
            out[f"{video}_{segment.strip()}"] = said.strip()
    return out
