"""The `.pyi` stubs agree with the built Rust module (mypy's stubtest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_stubs_match_the_extension_module(repo_root: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "ger_replay._core",
            "--allowlist",
            str(repo_root / "tests" / "stubtest_allowlist.txt"),
        ],
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
