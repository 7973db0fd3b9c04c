"""Reads behind the machines page of a classification batch, each a fixed number of queries
whatever the batch's size: the machine verdicts as columns, the runs, the items of a page."""

from __future__ import annotations

from django.db.models import TextField
from django.db.models.functions import Cast

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.quality.classification_columns import verdicts
from annotation_server.quality.selectors import query_rows

from .agreement import MachineColumns, machine_columns
from .models import SOURCE_PREFIX, MachineRun

_JSON_BOOL = {"true": True, "false": False}


def batch_machine_verdicts(*, batch: Batch, keys: tuple[str, ...]) -> MachineColumns:
    """Every machine verdict of the batch (source `machine:…`, any source annotator)."""
    qs = ExternalAnnotation.objects.filter(
        batch=batch, source__startswith=SOURCE_PREFIX
    ).values_list(
        "id",
        "pair_id",
        "source",
        "source_annotator",
        Cast("answer__harmful", TextField()),
        Cast("answer__categories", TextField()),
    )
    rows = query_rows(qs)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6
    return machine_columns(
        verdict_id=columns[0],
        pair_id=columns[1],
        source=columns[2],
        label=columns[3],
        verdicts=verdicts([_JSON_BOOL.get(text) for text in columns[4]], columns[5], keys),
    )


def batch_machine_runs(*, batch: Batch) -> dict[tuple[str, str], MachineRun]:
    """The batch's runs by (source, source_annotator) of their annotator version."""
    runs = MachineRun.objects.filter(batch=batch).select_related("annotator")
    return {(run.annotator.source, run.annotator.source_annotator): run for run in runs}


def pairs_with_media(*, ids: list[int]) -> dict[int, Pair]:
    """The items of one page of a list, with their media, by id."""
    return {p.pk: p for p in Pair.objects.filter(pk__in=ids).select_related("video_0")}
