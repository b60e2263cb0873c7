"""One version everywhere: the package's constant, pyproject.toml, the installed metadata and
the Rust core."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import ger_replay
import ger_replay._core as _core

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_is_the_same_everywhere() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    cargo = tomllib.loads((ROOT / "rust_core" / "Cargo.toml").read_text())["package"]["version"]
    assert ger_replay.__version__ == declared == version("ger-replay") == cargo
    assert _core.__version__ == cargo
