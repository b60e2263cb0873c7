"""ger-replay: record, replay and score zero-shot emotion recognition with multimodal LLMs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ger-replay")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]

# sharing (issue 7)
from ger_replay.share.bundle import open_bundle, pack
from ger_replay.share.export import export
from ger_replay.share.verify import verify

__all__ = [*__all__, "export", "open_bundle", "pack", "verify"]

# answer parsing (issue 3)
from ger_replay.parsing import ParseResult, parse_response, parse_responses

__all__ += ["ParseResult", "parse_response", "parse_responses"]

# bootstrap intervals and paired comparisons (issue 4)
from ger_replay.stats.bootstrap import DiffResult, bootstrap_ci, bootstrap_diff  # noqa: E402

__all__ += ["DiffResult", "bootstrap_ci", "bootstrap_diff"]

# analyses and reports (issue 6)
from ger_replay.analysis.confusion import class_recall, confusion  # noqa: E402
from ger_replay.analysis.consistency import consistency  # noqa: E402
from ger_replay.analysis.diff import diff  # noqa: E402
from ger_replay.analysis.refusals import refusals  # noqa: E402
from ger_replay.analysis.robustness import robustness  # noqa: E402
from ger_replay.analysis.stability import majority_vote, stability  # noqa: E402

# (the report builder, ger_replay.report.build.build_report, loads matplotlib: import it there)
__all__ += [
    "class_recall",
    "confusion",
    "consistency",
    "diff",
    "majority_vote",
    "refusals",
    "robustness",
    "stability",
]

# recording and replay (issue 5)
# (named *_run: `ger_replay.record` is the subpackage)
from ger_replay.record.recorder import RecordOptions  # noqa: E402
from ger_replay.record.recorder import plan as plan_run  # noqa: E402
from ger_replay.record.recorder import record as record_run  # noqa: E402
from ger_replay.record.replay import replay as replay_run  # noqa: E402

__all__ += ["RecordOptions", "plan_run", "record_run", "replay_run"]
