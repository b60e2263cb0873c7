"""The version of ger-replay (written into run.json, bundles, exports and reports). It is the
one in pyproject.toml; a test keeps the two, the installed package's and the Rust core's
equal. A constant, not read from the installed metadata: that import costs more than the rest
of the command line's start."""

from __future__ import annotations

__version__: str = "0.1.0"

__all__ = ["__version__"]
