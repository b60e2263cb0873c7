"""A rule set (`ger_replay.protocol.rulesets`) as polars expressions over coded rows.

The coded rows carry
- `first`: the code of the first label of the ranking, folded (null: no candidate, no ranking);
- `cand`: the code of the first label of the ranking that is a candidate (null: none);
- `answered`: the model gave an answer for the sample (status `ok` or `no_candidate`);
- `task`: the dataset's task (`Task` value);
and the rule set adds `pred_code` (the prediction, -1 for none, which counts wrong where
scored) and `scored` (the sample counts in the metric). The same expressions serve one run's
samples and the grouped rows of the streaming scorer.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from ger_replay.protocol.datasets import Task
from ger_replay.protocol.rulesets import Fate, Pick, RuleSpec, get
from ger_replay.score import table

#: Statuses of a sample the model answered (a ranking exists, usable or not).
ANSWERED = (table.OK, table.NO_CANDIDATE)


def answered() -> pl.Expr:
    return pl.col("status").is_in(ANSWERED).fill_null(False)


def _picked(spec: RuleSpec) -> pl.Expr:
    col = "first" if spec.pick is Pick.FIRST_LABEL else "cand"
    return pl.when(pl.col("answered")).then(pl.col(col)).otherwise(None)


def prediction(rules: str | RuleSpec) -> pl.Expr:
    """The prediction's code under the rule set; -1 where there is no usable prediction."""
    return _picked(get(rules)).fill_null(-1).cast(pl.Int64).alias("pred_code")


def scored(rules: str | RuleSpec) -> pl.Expr:
    """True where the sample counts in the metric under the rule set."""
    spec = get(rules)
    picked = _picked(spec)
    wrong_tasks = [str(t) for t in Task if spec.invalid(t) is Fate.WRONG]
    usable = pl.col("answered") & picked.is_not_null()
    invalid = pl.col("answered") & picked.is_null() & pl.col("task").is_in(wrong_tasks)
    unanswered = ~pl.col("answered") & pl.lit(spec.unanswered is Fate.WRONG)
    return (usable | invalid | unanswered).alias("scored")


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def apply(coded: Frame, rules: str | RuleSpec) -> Frame:
    """`coded` with the rule set's `pred_code` and `scored` columns added."""
    return coded.with_columns(prediction(rules), scored(rules))
