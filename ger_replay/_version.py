"""The installed version of ger-replay (written into run.json, bundles, exports and reports)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed

try:
    __version__: str = _installed("ger-replay")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]
