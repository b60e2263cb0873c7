"""The scoring rule sets of PROTOCOL.md part 3: `paper` (the default), `strict` and `lenient`.

Every sample of a run is in one of three cases: its picked label (folded) is one of the dataset's
candidates; it was answered but the picked label is no candidate (*invalid*); or it was never
answered (refused, unparseable, count mismatch after every retry, absent). A rule set says which
label is picked and what happens to the invalid and the unanswered samples. This module holds
the definitions (data); `ger_replay.score.rulesets` turns them into polars expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ger_replay.protocol.datasets import Task


class RuleSet(StrEnum):
    PAPER = "paper"
    STRICT = "strict"
    LENIENT = "lenient"


class Pick(StrEnum):
    #: The first label of the ranking, folded; labels further down are not consulted.
    FIRST_LABEL = "first_label"
    #: The first label of the ranking that is a candidate (invented labels skipped).
    FIRST_CANDIDATE = "first_candidate"


class Fate(StrEnum):
    #: Scored, and counted wrong.
    WRONG = "wrong"
    #: Left out of the metric (reported as coverage).
    LEFT_OUT = "left_out"


#: The tasks whose samples are videos (DFEW, FERV39k, RAVDESS, eNTERFACE05).
VIDEO_TASKS: frozenset[Task] = frozenset({Task.DYNAMIC_FACIAL})


@dataclass(frozen=True)
class RuleSpec:
    name: str
    pick: Pick
    #: fate of an answered sample whose picked label is no candidate, on image-like tasks
    #: (visual, tweet, micro-expression, facial, multimodal) and on the video task
    invalid_image: Fate
    invalid_video: Fate
    #: fate of a sample the model never answered
    unanswered: Fate

    def invalid(self, task: Task) -> Fate:
        return self.invalid_video if task in VIDEO_TASKS else self.invalid_image


RULE_SETS: dict[str, RuleSpec] = {
    RuleSet.PAPER: RuleSpec("paper", Pick.FIRST_LABEL, Fate.WRONG, Fate.LEFT_OUT, Fate.LEFT_OUT),
    RuleSet.STRICT: RuleSpec("strict", Pick.FIRST_LABEL, Fate.WRONG, Fate.WRONG, Fate.WRONG),
    RuleSet.LENIENT: RuleSpec(
        "lenient", Pick.FIRST_CANDIDATE, Fate.LEFT_OUT, Fate.LEFT_OUT, Fate.LEFT_OUT
    ),
}
DEFAULT = RuleSet.PAPER


class UnknownRuleSet(ValueError):
    pass


def get(rules: str | RuleSpec) -> RuleSpec:
    """The rule set of a name (a RuleSpec is returned as it is)."""
    if isinstance(rules, RuleSpec):
        return rules
    try:
        return RULE_SETS[RuleSet(rules)]
    except ValueError:
        raise UnknownRuleSet(
            f"unknown rule set {rules!r}; one of {', '.join(map(str, RuleSet))}"
        ) from None
