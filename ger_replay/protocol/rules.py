"""The scoring rules of PROTOCOL.md part 3, turning truth and prediction into score classes."""

from __future__ import annotations

from ger_replay.protocol.datasets import NEGATIVE, POSITIVE, Binary, Dataset
from ger_replay.protocol.labels import LabelSpace


class UnknownLabel(ValueError):
    pass


class Rules:
    """Rules for one dataset: the candidate space, and the map to the classes the metric uses."""

    def __init__(self, dataset: Dataset, extra_synonyms: list[tuple[str, str]] | None = None):
        self.dataset = dataset
        self.space = LabelSpace(dataset.labels, extra_synonyms or [])
        self.classes = dataset.score_classes
        self._code = {c: i for i, c in enumerate(self.classes)}

    def truth(self, gt: str) -> str | None:
        """The score class of a ground-truth value; None where the sample is left out (a
        sentiment score of 0). Raises UnknownLabel for a label outside candidates and synonyms."""
        d = self.dataset
        if d.binary is Binary.SENTIMENT_SCORE:
            try:
                score = float(gt)
            except (TypeError, ValueError):
                raise UnknownLabel(
                    f"ground truth {gt!r} is not a sentiment score (a number) for {d.key}"
                ) from None
            if score != score:  # NaN
                raise UnknownLabel(f"ground truth {gt!r} is not a number for {d.key}")
            if score == 0:
                return None
            return POSITIVE if score > 0 else NEGATIVE
        cand = self.space.canonical(gt) if gt is not None else None
        if cand is None:
            raise UnknownLabel(
                f"ground truth label {gt!r} is neither a candidate of {d.key} "
                f"({', '.join(d.labels)}) nor a known synonym of one"
            )
        return self.binarize(cand)

    def binarize(self, candidate: str) -> str:
        """The score class of a candidate label (identity unless the dataset is binary)."""
        d = self.dataset
        if d.binary is Binary.VALENCE:
            return d.valence[self.space.key(candidate)]
        if d.binary is Binary.SENTIMENT_SCORE:
            return POSITIVE if self.space.key(candidate) in d.positive_labels else NEGATIVE
        return candidate

    def first_candidate(self, ranking: list[str] | None) -> tuple[str | None, list[str]]:
        """Rule 3: the first label of the ranking that is a candidate, and the invented labels."""
        if not ranking:
            return None, []
        found: str | None = None
        invented: list[str] = []
        for lab, cand in zip(ranking, self.space.canonical_many(ranking), strict=True):
            if cand is None:
                invented.append(lab)
            elif found is None:
                found = cand
        return found, invented

    def code(self, score_class: str | None) -> int:
        """Integer code of a score class; -1 for no prediction."""
        if score_class is None:
            return -1
        return self._code[score_class]
