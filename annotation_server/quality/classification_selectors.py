"""Reads of a classification batch's answers and external labels as numpy columns, in a fixed
number of queries whatever the batch's size (three for answers, one for external labels)."""

from __future__ import annotations

from django.db.models import TextField
from django.db.models.functions import Cast

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.models import Batch
from annotation_server.quality.classification_columns import (
    ExternalColumns,
    LabelColumns,
    external_columns,
    label_columns,
    verdicts,
)
from annotation_server.quality.selectors import annotator_last_active, query_rows

_JSON_BOOL = {"true": True, "false": False}


def batch_category_keys(*, batch: Batch) -> tuple[str, ...]:
    """The category keys the batch's figures report, in its taxonomy's order."""
    return batch.taxonomy.keys if batch.taxonomy_id else ()


def batch_label_answers(*, batch: Batch, keys: tuple[str, ...]) -> LabelColumns:
    """Every answer of the classification batch (rejected and gold ones included)."""
    rows = query_rows(
        Annotation.objects.filter(batch=batch).values_list(
            "id",
            "annotator_id",
            "pair_id",
            "is_gold",
            "rejected",
            "gold_score",
            "server_duration_ms",
            "harmful",
            Cast("categories", TextField()),
        )
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 9
    last_active = annotator_last_active(batch)
    return label_columns(
        annotation_id=columns[0],
        annotator_id=columns[1],
        pair_id=columns[2],
        is_gold=columns[3],
        rejected=columns[4],
        gold_score=columns[5],
        server_duration_ms=columns[6],
        verdicts=verdicts(columns[7], columns[8], keys),
        last_active=last_active,
    )


def batch_external_labels(*, batch: Batch, keys: tuple[str, ...]) -> ExternalColumns:
    """The external labels of the batch's items (every source), answers in our terms."""
    rows = query_rows(
        ExternalAnnotation.objects.filter(batch=batch).values_list(
            "pair_id",
            "source",
            Cast("answer__harmful", TextField()),
            Cast("answer__categories", TextField()),
        )
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 4
    return external_columns(
        pair_id=columns[0],
        source=columns[1],
        verdicts=verdicts([_JSON_BOOL.get(text) for text in columns[2]], columns[3], keys),
    )
