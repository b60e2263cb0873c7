"""The scoring rule sets of PROTOCOL.md part 3: `paper` (the default), `strict` and `lenient`.

A rule set says, for one sample of one run, which label is the prediction and whether the sample
is scored. Every sample falls in one of three cases:

- its first label (folded) is one of the dataset's candidates;
- it was answered, but the first label is not a candidate (an invented label): *invalid*;
- it was never answered (refused, unparseable, count mismatch after every retry, absent).

This module holds the definitions only (data); `ger_replay.score.rulesets` applies them to the
predictions table as polars expressions.
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
    """Which label of the ranking is the prediction."""

    #: The first label, folded; labels further down are not consulted.
    FIRST_LABEL = "first_label"
    #: The first label of the ranking that is a candidate (invented labels skipped).
    FIRST_CANDIDATE = "first_candidate"


class Fate(StrEnum):
    """What happens to a sample without a usable prediction."""

    #: Scored, and counted wrong.
    WRONG = "wrong"
    #: Left out of the metric (reported as coverage).
    LEFT_OUT = "left_out"


#: The tasks whose samples are videos (the paper's Table 8).
VIDEO_TASKS: frozenset[Task] = frozenset({Task.DYNAMIC_FACIAL})


@dataclass(frozen=True)
class RuleSpec:
    name: RuleSet
    pick: Pick
    #: the fate of an answered sample whose picked label is not a candidate, for image-like
    #: tasks (visual, tweet, micro-expression, facial, multimodal) and for the video task
    invalid_image: Fate
    invalid_video: Fate
    #: the fate of a sample the model never answered
    unanswered: Fate
    summary: str

    def invalid(self, task: Task) -> Fate:
        """The fate of an invalid prediction on a dataset of `task`."""
        return self.invalid_video if task in VIDEO_TASKS else self.invalid_image

    def invalid_counts_wrong(self, task: Task) -> bool:
        return self.invalid(task) is Fate.WRONG


RULE_SETS: dict[RuleSet, RuleSpec] = {
    RuleSet.PAPER: RuleSpec(
        RuleSet.PAPER,
        Pick.FIRST_LABEL,
        invalid_image=Fate.WRONG,
        invalid_video=Fate.LEFT_OUT,
        unanswered=Fate.LEFT_OUT,
        summary=(
            "paper: first label only; an invalid first label counts wrong on image and "
            "multimodal tasks and is left out on video datasets; unanswered samples left out"
        ),
    ),
    RuleSet.STRICT: RuleSpec(
        RuleSet.STRICT,
        Pick.FIRST_LABEL,
        invalid_image=Fate.WRONG,
        invalid_video=Fate.WRONG,
        unanswered=Fate.WRONG,
        summary=(
            "strict: first label only; every test sample scored; invalid, refused, "
            "unparseable or missing answers count wrong"
        ),
    ),
    RuleSet.LENIENT: RuleSpec(
        RuleSet.LENIENT,
        Pick.FIRST_CANDIDATE,
        invalid_image=Fate.LEFT_OUT,
        invalid_video=Fate.LEFT_OUT,
        unanswered=Fate.LEFT_OUT,
        summary=(
            "lenient: first candidate of the ranking (invented labels skipped); no candidate, "
            "refused or missing left out"
        ),
    ),
}

DEFAULT = RuleSet.PAPER
NAMES: tuple[str, ...] = tuple(str(r) for r in RuleSet)


class UnknownRuleSet(ValueError):
    pass


def get(name: str | RuleSet) -> RuleSpec:
    """The rule set of a name; raises UnknownRuleSet naming the known ones."""
    try:
        return RULE_SETS[RuleSet(name)]
    except ValueError:
        raise UnknownRuleSet(f"unknown rule set {name!r}; one of {', '.join(NAMES)}") from None


def describe(name: str | RuleSet) -> str:
    """One line naming the rule set and what it does, for the foot of tables and reports."""
    return f"rules: {get(name).summary}"
