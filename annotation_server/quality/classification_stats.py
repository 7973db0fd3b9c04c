"""A classification batch's figures from its answer columns (no Django): agreement per field,
the annotator table, and how our workers' majority compares with each external source (the
comparison itself is `source_comparison.py`, shared with the pairwise dashboard).

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

# FieldComparison, binary_comparison and majority are re-exported: the machines' agreement
# reads them from here.
from annotation_server.quality.source_comparison import (
    FieldComparison as FieldComparison,
)
from annotation_server.quality.source_comparison import (
    SourceComparison,
    field_counts,
    majority_comparisons,
    unit_index,
)
from annotation_server.quality.source_comparison import binary_comparison as binary_comparison
from annotation_server.quality.source_comparison import majority as majority
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
    return majority_comparisons(
        answers.verdicts.fields,
        answers.pair_id[kept],
        _subset(answers.verdicts, kept),
        external.pair_id,
        external.source,
        external.verdicts,
        external.sources,
    )
