"""Label folding in Python, over the Rust core's synonym table (PROTOCOL.md part 3, rule 2)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ger_replay._core as _core


def default_synonyms() -> list[tuple[str, str]]:
    """(variant, canonical) pairs of PROTOCOL.md part 3."""
    return list(_core.default_synonyms())


def fold(labels: Sequence[str], extra_synonyms: Iterable[tuple[str, str]] = ()) -> list[str]:
    """The comparison key of each label: trimmed, lower-cased, synonyms folded."""
    return list(_core.fold_labels(list(labels), list(extra_synonyms) or None))


class LabelSpace:
    """A dataset's candidate labels, looked up by folded key."""

    def __init__(self, candidates: Sequence[str], extra_synonyms: Iterable[tuple[str, str]] = ()):
        self.candidates = tuple(candidates)
        self.extra = list(extra_synonyms)
        keys = fold(self.candidates, self.extra)
        if len(set(keys)) != len(keys):
            raise ValueError(f"candidate labels {self.candidates} fold to duplicate labels {keys}")
        self._by_key = dict(zip(keys, self.candidates, strict=True))
        self._cache: dict[str, str | None] = {}

    def canonical(self, label: str) -> str | None:
        """The candidate spelling a label folds to, or None for a label outside the candidates."""
        try:
            return self._cache[label]
        except KeyError:
            pass
        (key,) = fold([label], self.extra)
        out = self._by_key.get(key)
        self._cache[label] = out
        return out

    def canonical_many(self, labels: Sequence[str]) -> list[str | None]:
        todo = [lab for lab in set(labels) if lab not in self._cache]
        if todo:
            for lab, key in zip(todo, fold(todo, self.extra), strict=True):
                self._cache[lab] = self._by_key.get(key)
        return [self._cache[lab] for lab in labels]

    def key(self, candidate: str) -> str:
        (k,) = fold([candidate], self.extra)
        return k
