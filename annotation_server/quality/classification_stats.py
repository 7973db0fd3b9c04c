"""A classification batch's figures from its answer columns (no Django): agreement per field,
the annotator table, and how our workers' majority compares with each external source.

Every field (harmful, then each category) is a binary unit per item. All figures are a few
`bincount`s over the columns, whatever the batch's size; `tests/quality/
test_classification_dashboard.py` pins them against plain per-item definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotation_server.quality import reliability
from annotation_server.quality.classification_columns import (
    ExternalColumns,
    LabelColumns,
    Verdicts,
)
from annotation_server.quality.stats import AnnotatorStats, Thresholds, annotator_flags


@dataclass(frozen=True)
class FieldAgreement:
    field: str  # "harmful" or a category key
    alpha: float | None
    raw: float | None
    units: int  # items with two or more answers to the field
    positive_share: float | None  # share of those answers that say yes


@dataclass
class LabelAnnotatorStats(AnnotatorStats):
    # Agreement with the others' majority on the categories (each a yes/no per item); the
    # inherited `agreement` is on `harmful`, the verdict the flags judge.
    category_agreement: float | None = None
    category_agreement_n: int = 0


@dataclass(frozen=True)
class FieldComparison:
    """Our majority (prediction) against a source's label (reference) on one field."""

    field: str
    items: int  # items where both are decided
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


@dataclass(frozen=True)
class SourceComparison:
    source: str
    labelled: int  # items the source labels
    fields: list[FieldComparison]


def unit_index(pair_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct items, each entry's item index)."""
    items, units = np.unique(pair_id, return_inverse=True)
    return items, units.reshape(-1)


def field_counts(units: np.ndarray, verdicts: Verdicts, n_units: int) -> np.ndarray:
    """(fields, n_units, 2) counts of known no and yes answers per field and item."""
    n_fields = verdicts.value.shape[1]
    cells = (units[:, None] * n_fields + np.arange(n_fields)).ravel()
    known = verdicts.known.ravel()
    size = n_units * n_fields
    yes = np.bincount(cells[known], weights=verdicts.value.ravel()[known], minlength=size)
    total = np.bincount(cells[known], minlength=size).astype(np.float64)
    yes, total = yes.reshape(n_units, n_fields).T, total.reshape(n_units, n_fields).T
    return np.stack([total - yes, yes], axis=2)


def majority(counts: np.ndarray) -> np.ndarray:
    """(fields, n_units) int8 from `field_counts`: 1 yes, 0 no, -1 tied or unanswered."""
    no, yes = counts[..., 0], counts[..., 1]
    return np.where(yes > no, 1, np.where(no > yes, 0, -1)).astype(np.int8)


def agreement_table(answers: LabelColumns) -> list[FieldAgreement]:
    """Nominal Krippendorff's α and raw agreement per field, over regular kept answers."""
    usable = ~answers.is_gold & ~answers.rejected
    items, units = unit_index(answers.pair_id[usable])
    counts = field_counts(units, _subset(answers.verdicts, usable), len(items))
    table = []
    for field, per_item in zip(answers.verdicts.fields, counts, strict=True):
        kept = per_item[per_item.sum(axis=1) >= 2]
        answered = kept.sum()
        table.append(
            FieldAgreement(
                field=field,
                alpha=reliability.nominal_alpha(kept),
                raw=reliability.raw_agreement(kept),
                units=len(kept),
                positive_share=float(kept[:, 1].sum() / answered) if answered else None,
            )
        )
    return table


def _subset(verdicts: Verdicts, mask: np.ndarray) -> Verdicts:
    return Verdicts(verdicts.keys, verdicts.value[mask], verdicts.known[mask])


def annotator_table(answers: LabelColumns, thresholds: Thresholds) -> list[LabelAnnotatorStats]:
    """Per annotator: answers, median time, agreement with the majority of the others (harmful;
    categories), gold accuracy (the share of gold fields matched, as scored at submit)."""
    people, who = np.unique(answers.annotator_id, return_inverse=True)
    who = who.reshape(-1)
    n = len(people)
    done = np.bincount(who, minlength=n)
    rejected = np.bincount(who, weights=answers.rejected, minlength=n)
    medians = reliability.group_median(who, answers.server_duration_ms, n)
    regular = ~answers.is_gold & ~answers.rejected
    items, units = unit_index(answers.pair_id[regular])
    value, known = answers.verdicts.value[regular], answers.verdicts.known[regular]
    hits = np.zeros((value.shape[1], n), dtype=np.int64)
    comparisons = np.zeros_like(hits)
    for f in range(value.shape[1]):
        k = known[:, f]
        hits[f], comparisons[f] = reliability.majority_agreement(
            units[k], who[regular][k], value[k, f], len(items), n
        )
    scored = answers.is_gold & ~np.isnan(answers.gold_score)
    gold_n = np.bincount(who[scored], minlength=n)
    gold_sum = np.bincount(who[scored], weights=answers.gold_score[scored], minlength=n)
    table = []
    for i, annotator in enumerate(people.tolist()):
        category_hits, category_n = int(hits[1:, i].sum()), int(comparisons[1:, i].sum())
        line = LabelAnnotatorStats(
            annotator_id=annotator,
            done=int(done[i]),
            rejected=int(rejected[i]),
            median_seconds=float(medians[i]) / 1000,
            agreement=_share(int(hits[0, i]), int(comparisons[0, i])),
            agreement_n=int(comparisons[0, i]),
            gold_accuracy=float(gold_sum[i]) / int(gold_n[i]) if gold_n[i] else None,
            gold_n=int(gold_n[i]),
            last_active=answers.last_active.get(annotator),
            category_agreement=_share(category_hits, category_n),
            category_agreement_n=category_n,
        )
        line.flags = annotator_flags(line, thresholds)
        table.append(line)
    return sorted(table, key=lambda s: (not s.flags, -s.done, s.annotator_id))


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None


def source_comparisons(answers: LabelColumns, external: ExternalColumns) -> list[SourceComparison]:
    """Per external source: our workers' majority on each item (kept answers, gold items
    included) against the source's label (its majority where it has several), per field."""
    kept = ~answers.rejected
    items, units = unit_index(np.concatenate([answers.pair_id[kept], external.pair_id]))
    ours_units, their_units = units[: int(kept.sum())], units[int(kept.sum()) :]
    ours = majority(field_counts(ours_units, _subset(answers.verdicts, kept), len(items)))
    n_sources = len(external.sources)
    # One unit per (source, item), so every source's majority comes from one bincount.
    theirs = majority(
        field_counts(
            external.source * len(items) + their_units, external.verdicts, n_sources * len(items)
        )
    ).reshape(len(ours), n_sources, len(items))
    both = (ours[:, None, :] >= 0) & (theirs >= 0)
    yes_ours, yes_theirs = ours[:, None, :] == 1, theirs == 1
    tp = (both & yes_ours & yes_theirs).sum(axis=2)
    fp = (both & yes_ours & ~yes_theirs).sum(axis=2)
    fn = (both & ~yes_ours & yes_theirs).sum(axis=2)
    tn = (both & ~yes_ours & ~yes_theirs).sum(axis=2)
    labelled = (theirs >= 0).any(axis=0).sum(axis=1)
    return [
        SourceComparison(
            source=source,
            labelled=int(labelled[s]),
            fields=[
                binary_comparison(field, int(tp[f, s]), int(fp[f, s]), int(fn[f, s]), int(tn[f, s]))
                for f, field in enumerate(answers.verdicts.fields)
            ],
        )
        for s, source in enumerate(external.sources)
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
