"""The installed version of ger-replay (written into run.json, bundles, exports and reports)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ger-replay")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
