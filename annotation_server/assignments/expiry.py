"""Expiry: open assignments past their time give their slot back to the pool.

Lock order, as everywhere in task distribution: assignment rows, then pair rows by id.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair

logger = logging.getLogger(__name__)

# How often one process sweeps stale assignments at claim time; beat sweeps thoroughly.
EXPIRY_CHECK_EVERY_S = 5.0
_last_expiry_check = 0.0


def sweep_if_due(now: dt.datetime) -> None:
    """Expire stale assignments if this process has not done so for a few seconds."""
    global _last_expiry_check
    clock = time.monotonic()
    if clock - _last_expiry_check < EXPIRY_CHECK_EVERY_S:
        return
    # A race between threads only means one extra (cheap, idempotent) sweep.
    _last_expiry_check = clock
    assignment_expire_stale(now=now)


def assignment_expire_stale(
    *, now: dt.datetime | None = None, limit: int = 1000, annotator=None, all_open: bool = False
) -> int:
    """Mark open assignments past their expiry as expired and free their slots (only
    `annotator`'s, when given; with `all_open`, every open one of theirs, due or not).

    Rows another transaction holds (a submit in progress) are skipped; they are either
    submitted or expired by a later run. Returns how many were expired.
    """
    now = now or timezone.now()
    stale = Assignment.objects.filter(status=Assignment.Status.OPEN)
    if not all_open:
        stale = stale.filter(expires_at__lte=now)
    if annotator is not None:
        stale = stale.filter(annotator=annotator)
    if not stale.exists():
        return 0
    with transaction.atomic():
        rows = list(
            stale.select_for_update(skip_locked=True)
            .order_by("expires_at")
            .values_list("id", "pair_id", "is_gold")[:limit]
        )
        if not rows:
            return 0
        Assignment.objects.filter(pk__in=[r[0] for r in rows]).update(
            status=Assignment.Status.EXPIRED, finished_at=now
        )
        release_slots(Counter(pair_id for _, pair_id, is_gold in rows if not is_gold))
    logger.info("expired %d stale assignments", len(rows))
    return len(rows)


def assignment_release_open(*, annotator) -> int:
    """Give back every open assignment of `annotator` now, not at expiry: for a worker who is
    done (a study worker sent to the completion page leaves the pair the app had prefetched).
    A late submit of one is still accepted while its slot is free, as after any expiry."""
    return assignment_expire_stale(annotator=annotator, all_open=True)


# Pairs per statement when slots are given back (well below PostgreSQL's 65,535 parameters).
_RELEASE_CHUNK = 1000


def release_slots(per_pair: Counter) -> None:
    """Give back `per_pair[pair_id]` regular slots of each pair (inside a transaction that
    holds the assignments' row locks)."""
    # The pair rows are locked first, in id order, so concurrent releasers never wait on each
    # other in a circle; then one UPDATE per distinct count (almost always just "1") and chunk.
    ids = sorted(per_pair)
    by_count: dict[int, list[int]] = {}
    # One pair (a skip, a report) needs no ordering: its UPDATE is its only lock.
    for start in range(0, len(ids) if len(ids) > 1 else 0, _RELEASE_CHUNK):
        chunk = ids[start : start + _RELEASE_CHUNK]
        list(Pair.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values("pk"))
    for pair_id in ids:
        by_count.setdefault(per_pair[pair_id], []).append(pair_id)
    for count, pair_ids in by_count.items():
        for start in range(0, len(pair_ids), _RELEASE_CHUNK):
            Pair.objects.filter(pk__in=pair_ids[start : start + _RELEASE_CHUNK]).update(
                taken=F("taken") - count
            )


def take_slot(pair_id: int) -> None:
    """Count one more regular assignment of a pair (the pair row is locked by the caller)."""
    Pair.objects.filter(pk=pair_id).update(taken=F("taken") + 1)
