"""Hints: a machine verdict shown to the worker beside the question, on a seeded half of a
classification batch's items, so the machines page can measure how far it anchors answers.

Off unless a batch's BatchHints switches them on, naming the machine annotator version whose
verdict is shown. An item is hinted when `audit_draw(seed, item) < ½` (routing's draw with
the hints' own seed, so hinted items are independent of the audit draw); gold items never
are. A hinted item shows the version's verdict when there is a parseable one; the worker's
assignment then gets a HintShown row holding what was shown.

`assignment_hint` is the provider assignments calls for every assignment it answers with
(registered in MachinesConfig.ready). A batch without hints costs it no query: the enabled
settings of every batch are read at most once per CACHE_SECONDS per process (and again at
once in the process that changes one), so a change reaches every server within that time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db import transaction

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError

from .models import MachineAnnotator
from .routing_models import BatchHints, HintShown
from .routing_rules import audit_draw

HINTED_SHARE = 0.5
CACHE_SECONDS = 10.0
BY = "machine_annotator"


@dataclass(frozen=True)
class HintSetting:
    annotator_id: int
    source: str
    source_annotator: str
    seed: int


class _Settings:
    """Every batch's enabled hint setting by batch id, read at most every CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_batch: dict[int, HintSetting] = {}
        self._read_at: float | None = None

    def get(self, batch_id: int) -> HintSetting | None:
        read_at = self._read_at
        if read_at is None or time.monotonic() - read_at > CACHE_SECONDS:
            self._read()
        return self._by_batch.get(batch_id)

    def _read(self) -> None:
        with self._lock:
            rows = BatchHints.objects.filter(enabled=True).select_related("annotator")
            self._by_batch = {
                row.batch_id: HintSetting(
                    annotator_id=row.annotator_id,
                    source=row.annotator.source,
                    source_annotator=row.annotator.source_annotator,
                    seed=row.seed,
                )
                for row in rows
            }
            self._read_at = time.monotonic()

    def forget(self, **_signal) -> None:
        self._read_at = None


settings_cache = _Settings()


def is_hinted(seed: int, pair_id: int) -> bool:
    """Whether the draw puts item `pair_id` in the hinted half (gold aside)."""
    return audit_draw(seed, pair_id) < HINTED_SHARE


def assignment_hint(assignment) -> dict | None:
    """The hint shown with `assignment` ({harmful, categories, by}), or None."""
    batch = assignment.batch
    if batch.kind != Batch.Kind.CLASSIFICATION:
        return None
    setting = settings_cache.get(batch.pk)
    if setting is None or assignment.is_gold or assignment.pair.is_gold:
        return None
    if not is_hinted(setting.seed, assignment.pair_id):
        return None
    # Once shown, the same hint every time the assignment is shown again.
    for hint in HintShown.objects.filter(assignment_id=assignment.pk).values_list(
        "hint", flat=True
    ):
        return hint
    answer = (
        ExternalAnnotation.objects.filter(
            pair_id=assignment.pair_id,
            source=setting.source,
            source_annotator=setting.source_annotator,
        )
        .values_list("answer", flat=True)
        .first()
    )
    hint = verdict_hint(answer)
    if hint is not None:
        HintShown.objects.bulk_create(
            [
                HintShown(
                    assignment_id=assignment.pk,
                    batch_id=batch.pk,
                    annotator_id=setting.annotator_id,
                    hint=hint,
                )
            ],
            ignore_conflicts=True,
        )
    return hint


def verdict_hint(answer: dict | None) -> dict | None:
    """A verdict's answer as a hint; None for an unparseable verdict (nothing to show)."""
    answer = answer or {}
    harmful, categories = answer.get("harmful"), answer.get("categories")
    if harmful is None and categories is None:
        return None
    return {"harmful": harmful, "categories": categories, "by": BY}


def batch_hints_set(
    batch: Batch, *, annotator: MachineAnnotator | None = None, enabled: bool | None = None
) -> BatchHints:
    """The batch's hint setting, created or changed (arguments left None keep their value)."""
    if batch.kind != Batch.Kind.CLASSIFICATION or batch.taxonomy_id is None:
        raise ApplicationError(
            f"Batch {batch.name!r} is not a classification batch: only those show hints."
        )
    with transaction.atomic():
        hints, _ = BatchHints.objects.select_for_update().get_or_create(batch=batch)
        if annotator is not None:
            hints.annotator = annotator
        if enabled is not None:
            hints.enabled = enabled
        if hints.enabled and hints.annotator_id is None:
            raise ApplicationError(
                f"Hints on {batch.name!r} need a machine annotator version whose verdict is shown."
            )
        hints.save()
    return hints
