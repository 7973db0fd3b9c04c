"""The external answers of a pairwise batch's pairs as numpy columns, in one query whatever
the batch's size (the answers' fields read as JSON text through a plain cursor)."""

from __future__ import annotations

from django.db.models import TextField
from django.db.models.functions import Cast

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch
from annotation_server.quality.pairwise_sources import (
    PREFERENCES,
    SIDES,
    PairwiseExternal,
    pairwise_external,
)
from annotation_server.quality.selectors import query_rows


def _path(name: str) -> str:
    # Annotation field → where the answer keeps it (sub-preferences in one object).
    if name.startswith("pref_"):
        return f"answer__sub_preferences__{name.removeprefix('pref_')}"
    return f"answer__{name}"


def batch_external_answers(*, batch: Batch) -> PairwiseExternal:
    """Every external answer on the batch's pairs (every source), in video_0/video_1 terms."""
    fields = [
        *(_path(name) for name in PREFERENCES),
        *(f"answer__{side}_is_safe" for side in SIDES),
        *(f"answer__{side}_harms" for side in SIDES),
    ]
    rows = query_rows(
        ExternalAnnotation.objects.filter(batch=batch).values_list(
            "pair_id", "source", *(Cast(f, TextField()) for f in fields)
        )
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * (2 + len(fields))
    n = len(PREFERENCES)
    return pairwise_external(
        pair_id=columns[0],
        source=columns[1],
        choices_text=columns[2 : 2 + n],
        is_safe_text=(columns[2 + n], columns[3 + n]),
        harms_text=(columns[4 + n], columns[5 + n]),
    )
