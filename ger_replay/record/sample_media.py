"""One sample's media as a run's settings send it (`ger-replay show RUN SAMPLE --media FILE`):
the files, the digests of the images the request would carry, and thumbnails."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ger_replay.errors import InputError
from ger_replay.io import rundir
from ger_replay.protocol.prompts import resolve_modality
from ger_replay.record.manifest import run_samples
from ger_replay.record.messages import digest_bytes, sample_parts

#: Width of a thumbnail, in pixels.
THUMB_WIDTH = 160


@dataclass
class SampleMedia:
    sample_id: str
    paths: list[Path]
    #: `sha256:` digests of the JPEG images the run's settings make of the media, in order
    digests: list[str]
    jpegs: list[bytes] = field(default_factory=list, repr=False)

    def write_thumbnails(self, folder: Path) -> list[Path]:
        """Small copies of the images sent, as `<sample>_<n>.jpg` in `folder`."""
        import cv2
        import numpy as np

        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for i, data in enumerate(self.jpegs, start=1):
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            if img is None:
                continue
            h, w = img.shape[:2]
            small = cv2.resize(img, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))))
            ok, buf = cv2.imencode(".jpg", small)
            if ok:
                p = folder / f"{rundir_safe(self.sample_id)}_{i}.jpg"
                rundir.atomic_write_bytes(p, buf.tobytes())
                out.append(p)
        return out


def rundir_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "x"


def sample_media(run_dir: Path, manifest: Path, sample_id: str) -> SampleMedia:
    """The sample's media files from `manifest` and the images the run's settings send."""
    import base64

    _, ds, settings, by_id = run_samples(run_dir, manifest)
    sample = by_id.get(sample_id)
    if sample is None:
        raise InputError(f"sample {sample_id!r} is not in the manifest", manifest)
    modality = resolve_modality(ds, settings.modality)
    has_image = modality == "multi" and ds.modality == "image+text"
    parts = sample_parts(1, sample, modality, settings, has_image)
    jpegs = [
        base64.b64decode(p["image_url"]["url"].partition(";base64,")[2])
        for p in parts
        if p.get("type") == "image_url"
    ]
    paths = [p for p in (sample.image, sample.video) if p is not None]
    return SampleMedia(sample_id, paths, [digest_bytes(j) for j in jpegs], jpegs)
