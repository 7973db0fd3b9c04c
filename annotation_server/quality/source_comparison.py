"""Our workers' majority against an external source's, field by field (no Django): the part
the classification and the pairwise dashboards share.

An answer is a row of binary fields (`value`), each known or not (`known`); a unit is what a
majority is taken over (an item, a pair, a pair's video). Per field and source, the units
where both majorities are decided give a 2×2 confusion, and from it Cohen's κ, the agreement
rate and, where "yes" means something found (harmful, a harm category), precision, recall
and F1 with the source as the reference. A few `bincount`s, whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Marked(Protocol):
    """(n, fields) bool matrices: each answer's value per field, and whether it is known
    (classification_columns.Verdicts, or `Marks`)."""

    @property
    def value(self) -> np.ndarray: ...

    @property
    def known(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Marks:
    value: np.ndarray
    known: np.ndarray


@dataclass(frozen=True)
class FieldComparison:
    """Our majority (prediction) against a source's label (reference) on one field."""

    field: str
    items: int  # units where both are decided
    tp: int
    fp: int
    fn: int
    tn: int
    kappa: float | None
    precision: float | None
    recall: float | None
    f1: float | None

    @property
    def support(self) -> int:
        """Items the source says yes to (scikit-learn's "support" of the positive class)."""
        return self.tp + self.fn

    @property
    def agreement(self) -> float | None:
        """Share of the compared units where our majority says what the source says."""
        return _share(self.tp + self.tn, self.items)


@dataclass(frozen=True)
class SourceComparison:
    source: str
    labelled: int  # units the source labels (any field)
    fields: list[FieldComparison]


def unit_index(pair_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct units, each entry's unit index)."""
    items, units = np.unique(pair_id, return_inverse=True)
    return items, units.reshape(-1)


def field_counts(units: np.ndarray, marks: Marked, n_units: int) -> np.ndarray:
    """(fields, n_units, 2) counts of known no and yes answers per field and unit."""
    n_fields = marks.value.shape[1]
    cells = (units[:, None] * n_fields + np.arange(n_fields)).ravel()
    known = marks.known.ravel()
    size = n_units * n_fields
    yes = np.bincount(cells[known], weights=marks.value.ravel()[known], minlength=size)
    total = np.bincount(cells[known], minlength=size).astype(np.float64)
    yes, total = yes.reshape(n_units, n_fields).T, total.reshape(n_units, n_fields).T
    return np.stack([total - yes, yes], axis=2)


def majority(counts: np.ndarray) -> np.ndarray:
    """(fields, n_units) int8 from `field_counts`: 1 yes, 0 no, -1 tied or unanswered."""
    no, yes = counts[..., 0], counts[..., 1]
    return np.where(yes > no, 1, np.where(no > yes, 0, -1)).astype(np.int8)


def majority_comparisons(
    fields: Sequence[str],
    ours_unit: np.ndarray,
    ours: Marked,
    their_unit: np.ndarray,
    their_source: np.ndarray,
    theirs: Marked,
    sources: Sequence[str],
) -> list[SourceComparison]:
    """Per source (`their_source` indexes `sources`): our majority on each unit against the
    source's (its majority where it has several answers), per field."""
    n_ours = len(ours_unit)
    items, units = unit_index(np.concatenate([ours_unit, their_unit]).astype(np.int64))
    ours_units, their_units = units[:n_ours], units[n_ours:]
    mine = majority(field_counts(ours_units, ours, len(items)))
    n_sources = len(sources)
    # One unit per (source, unit), so every source's majority comes from one bincount.
    other = majority(
        field_counts(their_source * len(items) + their_units, theirs, n_sources * len(items))
    ).reshape(len(fields), n_sources, len(items))
    both = (mine[:, None, :] >= 0) & (other >= 0)
    yes_ours, yes_theirs = mine[:, None, :] == 1, other == 1
    tp = (both & yes_ours & yes_theirs).sum(axis=2)
    fp = (both & yes_ours & ~yes_theirs).sum(axis=2)
    fn = (both & ~yes_ours & yes_theirs).sum(axis=2)
    tn = (both & ~yes_ours & ~yes_theirs).sum(axis=2)
    labelled = (other >= 0).any(axis=0).sum(axis=1)
    return [
        SourceComparison(
            source=source,
            labelled=int(labelled[s]),
            fields=[
                binary_comparison(field, int(tp[f, s]), int(fp[f, s]), int(fn[f, s]), int(tn[f, s]))
                for f, field in enumerate(fields)
            ],
        )
        for s, source in enumerate(sources)
    ]


def binary_comparison(field: str, tp: int, fp: int, fn: int, tn: int) -> FieldComparison:
    """Cohen's κ, precision, recall and F1 of a 2×2 confusion (None where undefined)."""
    n = tp + fp + fn + tn
    kappa = None
    if n:
        observed = (tp + tn) / n
        expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
        kappa = (observed - expected) / (1 - expected) if expected < 1 else None
    return FieldComparison(
        field=field,
        items=n,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        kappa=kappa,
        precision=_share(tp, tp + fp),
        recall=_share(tp, tp + fn),
        f1=_share(2 * tp, 2 * tp + fp + fn),
    )


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None
