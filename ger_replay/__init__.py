"""ger-replay: record, replay and score zero-shot emotion recognition with multimodal LLMs.

The public API is imported lazily (PEP 562), so `import ger_replay` and the command line stay
fast: the openai client, vcrpy or matplotlib load only when something that needs them is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ger_replay._version import __version__

#: The installed version, as a string (the same as `__version__`).
version: str = __version__

#: public name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    # answer parsing
    "ParseResult": ("ger_replay.parsing", "ParseResult"),
    "parse_response": ("ger_replay.parsing", "parse_response"),
    "parse_responses": ("ger_replay.parsing", "parse_responses"),
    # bootstrap intervals and paired comparisons
    "DiffResult": ("ger_replay.stats.bootstrap", "DiffResult"),
    "bootstrap_ci": ("ger_replay.stats.bootstrap", "bootstrap_ci"),
    "bootstrap_diff": ("ger_replay.stats.bootstrap", "bootstrap_diff"),
    # loading and scoring
    "load": ("ger_replay.io.load", "load"),
    "score_table": ("ger_replay.score.scoring", "scores_frame"),
    # analyses (each returns polars DataFrames)
    "class_recall": ("ger_replay.analysis.confusion", "class_recall"),
    "confusion": ("ger_replay.analysis.confusion", "confusion"),
    "consistency": ("ger_replay.analysis.consistency", "consistency"),
    "diff": ("ger_replay.analysis.diff", "diff"),
    "majority_vote": ("ger_replay.analysis.stability", "majority_vote"),
    "refusals": ("ger_replay.analysis.refusals", "refusals"),
    "robustness": ("ger_replay.analysis.robustness", "robustness"),
    "stability": ("ger_replay.analysis.stability", "stability"),
    "build_report": ("ger_replay.report.build", "build_report"),
    # recording and replay (named *_run: `ger_replay.record` is the subpackage)
    "RecordOptions": ("ger_replay.record.recorder", "RecordOptions"),
    "plan_run": ("ger_replay.record.recorder", "plan"),
    "record_run": ("ger_replay.record.recorder", "record"),
    "replay_run": ("ger_replay.record.replay", "replay"),
    # sharing
    "export": ("ger_replay.io.export", "export"),
    "open_bundle": ("ger_replay.io.bundle", "open_bundle"),
    "pack": ("ger_replay.io.bundle", "pack"),
    "verify": ("ger_replay.io.verify", "verify"),
}

__all__ = [
    "DiffResult",
    "ParseResult",
    "RecordOptions",
    "__version__",
    "bootstrap_ci",
    "bootstrap_diff",
    "build_report",
    "class_recall",
    "confusion",
    "consistency",
    "diff",
    "export",
    "load",
    "majority_vote",
    "open_bundle",
    "pack",
    "parse_response",
    "parse_responses",
    "plan_run",
    "record_run",
    "refusals",
    "replay_run",
    "robustness",
    "score_table",
    "stability",
    "verify",
    "version",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'ger_replay' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:
    from ger_replay.analysis.confusion import class_recall, confusion
    from ger_replay.analysis.consistency import consistency
    from ger_replay.analysis.diff import diff
    from ger_replay.analysis.refusals import refusals
    from ger_replay.analysis.robustness import robustness
    from ger_replay.analysis.stability import majority_vote, stability
    from ger_replay.io.bundle import open_bundle, pack
    from ger_replay.io.export import export
    from ger_replay.io.load import load
    from ger_replay.io.verify import verify
    from ger_replay.parsing import ParseResult, parse_response, parse_responses
    from ger_replay.record.recorder import RecordOptions
    from ger_replay.record.recorder import plan as plan_run
    from ger_replay.record.recorder import record as record_run
    from ger_replay.record.replay import replay as replay_run
    from ger_replay.report.build import build_report
    from ger_replay.score.scoring import scores_frame as score_table
    from ger_replay.stats.bootstrap import DiffResult, bootstrap_ci, bootstrap_diff
