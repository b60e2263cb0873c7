"""Applying a rule set (`ger_replay.protocol.rulesets`) to the predictions table.

The rule sets are polars expressions over a coded table with the columns

- `first`: the integer code of the first label of the ranking, folded (null where it is not a
  candidate, or there is no ranking);
- `cand`: the code of the first label of the ranking that is a candidate (null: none);
- `answered`: the model gave an answer for the sample (status `ok` or `no_candidate`);
- `task`: the dataset's task (`Task` value),

and give, per sample, the prediction under the rule set (`-1`: none, which counts wrong where
scored) and whether the sample is scored at all.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from ger_replay.io import table
from ger_replay.protocol.datasets import Task
from ger_replay.protocol.labels import LabelSpace
from ger_replay.protocol.rulesets import Fate, Pick, RuleSet, RuleSpec, get

#: Statuses of a sample the model answered (a ranking exists, usable or not).
ANSWERED = (table.OK, table.NO_CANDIDATE)


def answered() -> pl.Expr:
    return pl.col("status").is_in(ANSWERED).fill_null(False)


def _picked(spec: RuleSpec) -> pl.Expr:
    col = "first" if spec.pick is Pick.FIRST_LABEL else "cand"
    return pl.when(pl.col("answered")).then(pl.col(col)).otherwise(None)


def prediction(rules: RuleSet | str) -> pl.Expr:
    """The prediction's code under the rule set; -1 where there is no usable prediction."""
    return _picked(get(rules)).fill_null(-1).cast(pl.Int64).alias("pred_code")


def scored(rules: RuleSet | str) -> pl.Expr:
    """True where the sample counts in the metric under the rule set."""
    spec = get(rules)
    picked = _picked(spec)
    wrong_tasks = [str(t) for t in Task if spec.invalid_counts_wrong(t)]
    usable = pl.col("answered") & picked.is_not_null()
    invalid_scored = (
        pl.col("answered") & picked.is_null() & pl.col("task").cast(pl.String).is_in(wrong_tasks)
    )
    unanswered_scored = ~pl.col("answered") & pl.lit(spec.unanswered is Fate.WRONG)
    return (usable | invalid_scored | unanswered_scored).alias("scored")


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def picked_label(df: pl.DataFrame, space: LabelSpace, rules: RuleSet | str) -> pl.Expr:
    """The candidate label (in the candidates' spelling) the rule set reads off each row's
    answer, null where there is none: the folded first label of the ranking (null when it is no
    candidate) or, for `lenient`, the first candidate (the `pred` column)."""
    if get(rules).pick is Pick.FIRST_CANDIDATE:
        return pl.when(answered()).then(pl.col("pred"))
    first = pl.coalesce(pl.col("ranking").list.first(), pl.col("pred"))
    values = df.select(first.alias("f")).get_column("f").drop_nulls().unique().to_list()
    fold = {
        v: c for v, c in zip(values, space.canonical_many(values), strict=True) if c is not None
    }
    return pl.when(answered()).then(
        first.replace_strict(fold, default=None, return_dtype=pl.String)
    )


def apply(coded: Frame, rules: RuleSet | str) -> Frame:
    """`coded` with the columns `pred_code` and `scored` of the rule set added."""
    return coded.with_columns(prediction(rules), scored(rules))


__all__ = ["ANSWERED", "answered", "apply", "picked_label", "prediction", "scored"]
