"""Shared fixtures. Tests that read the real third-party data in ../shared/data skip cleanly
where it is absent (it is never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: ../shared/data beside the checkout; GER_REPLAY_SHARED_DATA names another place (a checkout
#: kept elsewhere than beside it).
SHARED = Path(os.environ.get("GER_REPLAY_SHARED_DATA") or ROOT.parent / "shared" / "data")
SHARED_DATA = SHARED / "gpt4v-emotion"


@pytest.fixture
def released_dir() -> Path:
    """The sample of the paper's released predictions, or a skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data/gpt4v-emotion is absent (third-party data, not shipped)")
    return SHARED_DATA


@pytest.fixture
def repo_root() -> Path:
    return ROOT
