"""The claim: give a worker the next pair, or resume the one they have open.

This is the one claim service: the API, the Prolific entry, the admin and the management
commands all call `assignment_claim_next` with an authenticated annotator.

Invariants (the concurrency tests check them):
- a regular pair never has more than its batch's overlap K of open + submitted assignments;
  `Pair.taken` counts exactly those and only changes while the pair row is locked;
- a worker never gets the same pair twice (UNIQUE(pair, annotator) backs this up);
- a worker holds at most two open assignments, in slots 0 and 1 (UNIQUE(annotator, slot)
  among open ones backs this up);
- gold assignments never touch `taken`.

On PostgreSQL the everyday claim is one statement (claim_statement.py, whose meaning is
`_claim_orm` here); every other case takes the plain way below.

Claims take no lock on the account: two claims of one login at the same moment choose on
the same snapshot, and the open-slot index refuses the second one's insert; it then looks
again and resumes the first one's pair. Pair rows locked by another claim are skipped, so
claims never queue behind each other on PostgreSQL; on SQLite (one process) the database is
the lock. Lock order: (own stale assignments →) pair row.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation_server.assignments import expiry, rules, selectors
from annotation_server.assignments.claim_statement import claim_in_one_statement
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.exceptions import ConflictError, NotFoundError

logger = logging.getLogger(__name__)

_CLAIM_ATTEMPTS = 5
# Loaded with a claimed pair so the API can show it without another query.
_PAIR_DISPLAY = ("prompt", "video_0", "video_1")


def assignment_claim_next(
    *,
    annotator,
    batch_name: str | None = None,
    prefetch: bool = False,
    now: dt.datetime | None = None,
) -> Assignment | None:
    """Give `annotator` a pair to work on, or None when nothing is left for them.

    Without `prefetch` the oldest live open assignment is resumed (a reload shows the same
    pair). With `prefetch` the caller wants a second pair to preload: their second open
    assignment is returned, or a new one is claimed (rules.open_choice). New claims come from
    the published batches the annotator may work on (selectors.batch_list_for_annotator),
    highest priority first, then the pairs with the fewest assignments; gold pairs are mixed
    in at the batch's `gold_rate`.
    """
    now = now or timezone.now()
    expiry.sweep_if_due(now)
    # One draw per request decides gold vs regular in the first batch, whichever way runs.
    gold_draw = rules.gold_draw()
    if connection.vendor == "postgresql":
        claimed = _claim_statement(
            annotator=annotator,
            batch_name=batch_name,
            prefetch=prefetch,
            now=now,
            gold_draw=gold_draw,
        )
        if claimed is not None:
            return claimed
    return _claim_orm(
        annotator=annotator, batch_name=batch_name, prefetch=prefetch, now=now, gold_draw=gold_draw
    )


def _claim_statement(**kwargs) -> Assignment | None:
    """The everyday claim in one statement (claim_statement.py), or None for the plain way."""
    try:
        # Inside an outer transaction (never in a request) a failed statement must not
        # spoil it: a savepoint there.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            return claim_in_one_statement(**kwargs, left_is_video_0=rules.left_is_video_0())
    except IntegrityError:
        return None  # another request of the same account took this slot a moment earlier


def _claim_orm(
    *, annotator, batch_name: str | None, prefetch: bool, now: dt.datetime, gold_draw: float
) -> Assignment | None:
    """The claim with every rule, in plain ORM terms (the meaning of claim_statement.py)."""
    claimed = _claim_with_retries(
        annotator=annotator, batch_name=batch_name, prefetch=prefetch, now=now, gold_draw=gold_draw
    )
    if claimed is None and expiry.assignment_expire_stale(now=now):
        # Stale slots are freed before anyone is told that nothing is left.
        claimed = _claim_with_retries(
            annotator=annotator,
            batch_name=batch_name,
            prefetch=prefetch,
            now=now,
            gold_draw=rules.gold_draw(),
        )
    return claimed


def _claim_with_retries(
    *, annotator, batch_name: str | None, prefetch: bool, now: dt.datetime, gold_draw: float
) -> Assignment | None:
    batches = selectors.batch_list_for_annotator(annotator=annotator, name=batch_name)
    if batch_name is not None and not batches:
        raise NotFoundError(
            f"There is no published batch named {batch_name!r} that you may work on.",
            code="batch_not_found",
        )
    for _attempt in range(_CLAIM_ATTEMPTS):
        try:
            return _claim_once(
                annotator=annotator,
                batches=batches,
                batch_name=batch_name,
                prefetch=prefetch,
                now=now,
                gold_draw=gold_draw,
            )
        except IntegrityError:
            # Another request of the same account took this pair or this open slot between
            # our snapshot and our insert; a unique constraint refused it. Look again.
            logger.info("claim retry for annotator %s after a unique-constraint race", annotator.pk)
    raise ConflictError(
        "Too many requests are claiming work at once; please try again.", code="claim_contention"
    )


def _claim_once(
    *,
    annotator,
    batches: list[Batch],
    batch_name: str | None,
    prefetch: bool,
    now: dt.datetime,
    gold_draw: float,
) -> Assignment | None:
    rows = selectors.assignment_list_open(annotator=annotator, now=now)
    if any(not row.live for row in rows):
        # Own stale assignments still hold their open slots: close them first.
        expiry.assignment_expire_stale(now=now, annotator=annotator)
        rows = selectors.assignment_list_open(annotator=annotator, now=now)
    choice = rules.open_choice(rows, batch_name=batch_name, prefetch=prefetch)
    if choice.resume is not None:
        return selectors.assignment_for_display(assignment_id=choice.resume)
    for batch in batches:
        assignment = _claim_in_batch(
            batch=batch, annotator=annotator, now=now, slot=choice.slot, gold_draw=gold_draw
        )
        if assignment is not None:
            return assignment
        gold_draw = rules.gold_draw()  # a fresh draw for each further batch
    return None


@transaction.atomic
def _claim_in_batch(
    *, batch: Batch, annotator, now: dt.datetime, slot: int, gold_draw: float
) -> Assignment | None:
    """Lock a pair of `batch` and open an assignment on it in `slot` (all or nothing)."""
    pair = (
        selectors.regular_candidates(batch=batch, annotator=annotator)
        .select_related(*_PAIR_DISPLAY)
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )
    if pair is None:
        # Gold pairs are mixed into regular work, never served on their own.
        return None
    is_gold = False
    if rules.draws_gold(batch=batch, draw=gold_draw):
        # Gold pairs have no overlap limit, so no lock: any number of workers may share one.
        gold = _pick_gold_pair(batch=batch, annotator=annotator)
        if gold is not None:
            pair, is_gold = gold, True
    if not is_gold:
        expiry.take_slot(pair.pk)
    assignment = Assignment.objects.create(
        pair=pair,
        batch=batch,
        annotator=annotator,
        status=Assignment.Status.OPEN,
        left_is_video_0=rules.left_is_video_0(),
        is_gold=is_gold,
        claimed_at=now,
        expires_at=rules.expires_at(batch=batch, claimed_at=now),
        slot=slot,
    )
    assignment.pair, assignment.batch = pair, batch
    return assignment


def _pick_gold_pair(*, batch: Batch, annotator) -> Pair | None:
    candidates = list(
        selectors.gold_candidates(batch=batch, annotator=annotator).select_related(*_PAIR_DISPLAY)[
            :20
        ]
    )
    return rules.choose(candidates)
