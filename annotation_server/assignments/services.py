"""Task distribution: claim the next pair, skip or report it, expire stale claims.

Invariants (the concurrency tests check them):
- a regular pair never has more than its batch's overlap K of open + submitted assignments;
  `Pair.taken` counts exactly those and only changes while the pair row is locked;
- a worker never gets the same pair twice (UNIQUE(pair, annotator) backs this up);
- a worker holds at most two open assignments, in slots 0 and 1 (UNIQUE(annotator, slot)
  among open ones backs this up);
- gold assignments never touch `taken`.

Two ways to claim. The everyday one on PostgreSQL (no open assignment, or one when
prefetching; regular pair of the first batch) is one statement without a transaction block
(`claim_sql.claim_next_fast`): it takes no lock on the account, the open-slot index refuses
a simultaneous second claim of the same login, which then goes the full way. The full way
locks the account's row, resumes an open assignment, sweeps the worker's stale ones, draws
gold pairs and walks every eligible batch.

Lock order, to stay free of deadlocks: user row → (own stale assignments →) pair row
(claim); assignment row → pair row (skip, expire, late submit). Claims lock pairs with SKIP
LOCKED, so they never queue behind each other on PostgreSQL; on SQLite (one process) the
whole database is the lock.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.accounts.authentication import (
    Caller,
    caller_cte_sql,
    caller_may_sql,
    caller_result_sql,
    split_caller_row,
)
from annotation_server.assignments import claim_sql, selectors
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.batches.models import Batch, Pair
from annotation_server.core import sql
from annotation_server.core.exceptions import ApplicationError, ConflictError, NotFoundError

logger = logging.getLogger(__name__)

_CLAIM_ATTEMPTS = 5
# Loaded with a claimed pair so the API can show it without another query.
_PAIR_DISPLAY = ("prompt", "video_0", "video_1")
_rng = random.SystemRandom()


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
    assignment is returned, or a new one is claimed. At most two are open at once.
    New claims come from published batches the annotator may work on, highest priority
    first, then the pairs with the fewest assignments; gold pairs are mixed in at the batch's
    `gold_rate`.
    """
    now = now or timezone.now()
    _sweep_if_due(now)
    # One draw per request decides gold vs regular for the first batch, whichever path runs.
    gold_draw = _rng.random()
    if connection.vendor == "postgresql":
        claimed = _claim_fast(
            annotator=annotator,
            batch_name=batch_name,
            prefetch=prefetch,
            now=now,
            gold_draw=gold_draw,
        )
        if claimed is not None:
            return claimed
    return _claim_full(
        annotator=annotator, batch_name=batch_name, prefetch=prefetch, now=now, gold_draw=gold_draw
    )


def assignment_claim_next_for(
    *,
    caller: Caller,
    authenticate: Callable[[tuple | None], object],
    batch_name: str | None = None,
    prefetch: bool = False,
    now: dt.datetime | None = None,
) -> Assignment | None:
    """`assignment_claim_next` for a caller known by token or session only (PostgreSQL; see
    accounts.authentication): the everyday claim's statement checks the caller too.
    `authenticate(row)` turns the caller's row from it (None if it found none) into the
    annotator, raising if the caller may not claim; it runs before anything else is done
    (the periodic sweep of stale assignments comes after it)."""
    now = now or timezone.now()
    gold_draw = _rng.random()
    claimed, row = _one_statement(
        claim_sql.claim_next_fast_for,
        caller.user_id,
        caller=caller,
        batch_name=batch_name,
        prefetch=prefetch,
        now=now,
        gold_draw=gold_draw,
    ) or (None, None)
    annotator = authenticate(row)
    _sweep_if_due(now)
    if claimed is not None:
        claimed.annotator = annotator
        return claimed
    return _claim_full(
        annotator=annotator, batch_name=batch_name, prefetch=prefetch, now=now, gold_draw=gold_draw
    )


def _sweep_if_due(now: dt.datetime) -> None:
    # Stale slots are freed in their own transaction (see the lock order above): every few
    # seconds per process, and always before telling a worker that nothing is left.
    if _expiry_check_due():
        assignment_expire_stale(now=now)


def _claim_full(
    *, annotator, batch_name: str | None, prefetch: bool, now: dt.datetime, gold_draw: float
) -> Assignment | None:
    """The claim with every rule (after the fast claim declined or lost a race)."""
    if batch_name is not None and not selectors.batch_list_for_annotator(
        annotator=annotator, name=batch_name
    ):
        raise NotFoundError(
            f"There is no published batch named {batch_name!r} that you may work on.",
            code="batch_not_found",
        )
    claim = functools.partial(
        _claim_with_retries, annotator=annotator, batch_name=batch_name, prefetch=prefetch, now=now
    )
    claimed = claim(gold_draw=gold_draw)
    if claimed is None and assignment_expire_stale(now=now):
        claimed = claim(gold_draw=_rng.random())
    return claimed


def _claim_fast(
    *, annotator, batch_name: str | None, prefetch: bool, now: dt.datetime, gold_draw: float
) -> Assignment | None:
    """The one-statement claim (see claim_sql.claim_next_fast), or None to go the full way."""
    return _one_statement(
        claim_sql.claim_next_fast,
        annotator.pk,
        annotator=annotator,
        batch_name=batch_name,
        prefetch=prefetch,
        now=now,
        gold_draw=gold_draw,
    )


def _one_statement(claim, user_id: int, **kwargs):
    """Runs one of claim_sql's one-statement claims (with a random display order); None when
    another request of the same account took the same slot or pair a moment earlier."""
    try:
        # Inside an outer transaction (never in a request) a failed statement must not
        # spoil it: give it a savepoint there.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            return claim(**kwargs, left_is_video_0=_rng.random() < 0.5)
    except IntegrityError:
        logger.info("fast claim of annotator %s lost a race; taking the full way", user_id)
        return None


_EXPIRY_CHECK_EVERY_S = 5.0
_last_expiry_check = 0.0


def _expiry_check_due() -> bool:
    # Per-process throttle; the beat task does the thorough sweep. A race between threads
    # only means one extra (cheap, idempotent) check.
    global _last_expiry_check
    clock = time.monotonic()
    if clock - _last_expiry_check < _EXPIRY_CHECK_EVERY_S:
        return False
    _last_expiry_check = clock
    return True


def _claim_with_retries(
    *, annotator, batch_name: str | None, prefetch: bool, now: dt.datetime, gold_draw: float
) -> Assignment | None:
    for _attempt in range(_CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                return _claim_once(
                    annotator=annotator,
                    batch_name=batch_name,
                    prefetch=prefetch,
                    now=now,
                    gold_draw=gold_draw,
                )
        except IntegrityError:
            # Another request of the same account took this pair or this open slot between
            # our snapshot and our insert (the one-statement claim takes no account lock);
            # a unique constraint refused it. Look again.
            logger.info("claim retry for annotator %s after a unique-constraint race", annotator.pk)
    raise ConflictError(
        "Too many requests are claiming work at once; please try again.", code="claim_contention"
    )


def _claim_once(
    *, annotator, batch_name: str | None, prefetch: bool, now: dt.datetime, gold_draw: float
) -> Assignment | None:
    _lock_annotator(annotator)
    rows = selectors.assignment_list_open(annotator=annotator, now=now)
    if any(not row.live for row in rows):
        # Own stale assignments still hold their open slots: close them first.
        assignment_expire_stale(now=now, annotator=annotator)
        rows = selectors.assignment_list_open(annotator=annotator, now=now)
    open_all = [row for row in rows if row.live]
    mine = [row.id for row in open_all if batch_name is None or row.batch_name == batch_name]
    if mine and not prefetch:
        return selectors.assignment_for_display(assignment_id=mine[0])
    if prefetch and len(mine) >= 2:
        return selectors.assignment_for_display(assignment_id=mine[1])
    if len(open_all) >= selectors.MAX_OPEN_PER_ANNOTATOR:
        if mine:
            return selectors.assignment_for_display(assignment_id=mine[-1])
        raise ConflictError(
            "You already have two open assignments in other batches; submit or skip one first.",
            code="too_many_open",
        )
    taken_slots = {row.slot for row in rows}
    slot = min({0, 1} - taken_slots, default=None)
    if slot is None:  # a stale assignment another request is closing right now
        raise ConflictError(
            "Your previous assignment is still being closed; please try again.",
            code="claim_contention",
        )
    for batch in selectors.batch_list_for_annotator(annotator=annotator, name=batch_name):
        assignment = _claim_in_batch(
            batch=batch, annotator=annotator, now=now, slot=slot, gold_draw=gold_draw
        )
        if assignment is not None:
            return assignment
        gold_draw = _rng.random()  # a fresh draw for each further batch
    return None


def _lock_annotator(annotator) -> None:
    # Serialise claims of one account (many tabs, or a shared login): resume and the
    # two-open limit are then decided on committed data. SQLite needs nothing: its
    # transactions start with BEGIN IMMEDIATE (settings.py), one writer at a time.
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(get_user_model()._meta.db_table)
    # A claim is a reservation, not work: PostgreSQL may acknowledge its commit before the WAL
    # reaches the disk. A database crash within that fraction of a second can forget the claim
    # (assignment row and `taken` together, never one without the other). Set in the same
    # statement as the lock to save a round trip.
    column = (
        "set_config('synchronous_commit', 'off', true)"
        if settings.ASSIGNMENT_CLAIM_ASYNC_COMMIT
        else "1"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE id = %s FOR NO KEY UPDATE", [annotator.pk]
        )


def _claim_in_batch(
    *, batch: Batch, annotator, now: dt.datetime, slot: int, gold_draw: float
) -> Assignment | None:
    # The gold draw comes first so that a regular claim on PostgreSQL is one statement.
    wants_gold = batch.gold_rate > 0 and gold_draw < batch.gold_rate
    if not wants_gold and connection.vendor == "postgresql":
        return claim_sql.claim_regular_pair(
            batch=batch,
            annotator=annotator,
            left_is_video_0=_rng.random() < 0.5,
            claimed_at=now,
            expires_at=now + dt.timedelta(minutes=batch.assignment_expiry_minutes),
            slot=slot,
        )
    pair = _lock_regular_pair(batch=batch, annotator=annotator)
    if pair is None:
        # Gold pairs are mixed into regular work, never served on their own.
        return None
    is_gold = False
    if wants_gold:
        gold = _pick_gold_pair(batch=batch, annotator=annotator)
        if gold is not None:
            pair, is_gold = gold, True
    if not is_gold:
        Pair.objects.filter(pk=pair.pk).update(taken=F("taken") + 1)
    return Assignment.objects.create(
        pair=pair,
        batch=batch,
        annotator=annotator,
        status=Assignment.Status.OPEN,
        left_is_video_0=_rng.random() < 0.5,
        is_gold=is_gold,
        claimed_at=now,
        expires_at=now + dt.timedelta(minutes=batch.assignment_expiry_minutes),
        slot=slot,
    )


def _had_by(annotator) -> Exists:
    return Exists(Assignment.objects.filter(pair=OuterRef("pk"), annotator=annotator))


def regular_candidates(*, batch: Batch, annotator) -> QuerySet[Pair]:
    """Regular pairs of `batch` with a free slot that `annotator` never had, best first."""
    return (
        Pair.objects.filter(batch=batch, active=True, is_gold=False, taken__lt=batch.overlap)
        .filter(~_had_by(annotator))
        .order_by("taken", "id")
        .select_related(*_PAIR_DISPLAY)
    )


def _lock_regular_pair(*, batch: Batch, annotator, lock: bool = True) -> Pair | None:
    """Lock the least-taken regular pair with a free slot the annotator never had.

    The scan walks pair_claim_idx (batch, active, is_gold, taken, id) in order and stops at
    the first row that is unlocked and not already the annotator's, so its cost depends on
    the annotator's own history and on concurrent claims, not on the batch size.
    """
    qs = regular_candidates(batch=batch, annotator=annotator)
    if lock:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return qs.first()


def _pick_gold_pair(*, batch: Batch, annotator) -> Pair | None:
    # Gold pairs have no overlap limit, so no lock: any number of workers may share one.
    candidates = list(
        Pair.objects.filter(batch=batch, active=True, is_gold=True)
        .filter(~_had_by(annotator))
        # Least-used first (gold pairs are few; their kept annotations are counted here).
        .annotate(used=Count("annotations", filter=Q(annotations__rejected=False)))
        .order_by("used", "id")
        .select_related(*_PAIR_DISPLAY)[:20]
    )
    return _rng.choice(candidates) if candidates else None


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
        _release_slots(Counter(pair_id for _, pair_id, is_gold in rows if not is_gold))
    logger.info("expired %d stale assignments", len(rows))
    return len(rows)


def assignment_release_open(*, annotator) -> int:
    """Give back every open assignment of `annotator` now, not at expiry: for a worker who is
    done (a study worker sent to the completion page leaves the pair the app had prefetched).
    A late submit of one is still accepted while its slot is free, as after any expiry."""
    return assignment_expire_stale(annotator=annotator, all_open=True)


def _release_slots(per_pair: Counter) -> None:
    # Sorted so concurrent releasers lock pairs in the same order.
    for pair_id in sorted(per_pair):
        Pair.objects.filter(pk=pair_id).update(taken=F("taken") - per_pair[pair_id])


def _lock_own(*, annotator, assignment_id) -> Assignment:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_lock_own_sql(), [assignment_id, annotator.pk])
            row = cursor.fetchone()
        assignment = (
            None
            if row is None
            else Assignment.from_db(connection.alias, claim_sql.ASSIGNMENT_FIELDS, row)
        )
    else:
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .filter(pk=assignment_id, annotator=annotator)
            .first()
        )
    if assignment is None:
        raise NotFoundError("No such assignment of yours.", code="assignment_not_found")
    return assignment


@functools.cache
def _lock_own_sql() -> str:
    columns = ", ".join(claim_sql.ASSIGNMENT_FIELDS)
    return f"""SELECT {columns} FROM {Assignment._meta.db_table}
               WHERE id = %s AND annotator_id = %s FOR UPDATE"""


@transaction.atomic
def assignment_give_up(
    *,
    annotator,
    assignment_id,
    kind: str,
    reason: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Assignment:
    """Skip or report (`kind`) one of the annotator's assignments, with a reason.

    The slot goes back to the pool and the annotator never gets this pair again. Reports
    appear in the admin. Repeating the same skip or report is harmless.
    """
    if kind not in PairReport.Kind.values:
        raise ApplicationError(f"kind must be one of {', '.join(PairReport.Kind.values)}.")
    if reason not in PairReport.Reason.values:
        raise ApplicationError(
            f"Unknown reason {reason!r}; use one of {', '.join(PairReport.Reason.values)}.",
            errors={"reason": [f"must be one of {', '.join(PairReport.Reason.values)}"]},
        )
    now = now or timezone.now()
    assignment = _lock_own(annotator=annotator, assignment_id=assignment_id)
    target = Assignment.Status.SKIPPED if kind == "skip" else Assignment.Status.REPORTED
    if assignment.status == target:
        return assignment
    if assignment.status not in (Assignment.Status.OPEN, Assignment.Status.EXPIRED):
        raise ConflictError(
            f"This assignment is already {assignment.get_status_display().lower()}; "
            f"it can no longer be {'skipped' if kind == 'skip' else 'reported'}.",
            code="assignment_closed",
        )
    release = assignment.status == Assignment.Status.OPEN and not assignment.is_gold
    assignment.status = target
    assignment.finished_at = now
    report = PairReport(
        assignment=assignment,
        pair_id=assignment.pair_id,
        annotator=annotator,
        kind=kind,
        reason=reason,
        note=note[:2000],
    )
    if connection.vendor != "postgresql":
        if release:
            _release_slots(Counter({assignment.pair_id: 1}))
        assignment.save(update_fields=["status", "finished_at"])
        report.save(force_insert=True)
        return assignment
    # One statement: close the (locked) assignment, give its slot back, file the report.
    with connection.cursor() as cursor:
        cursor.execute(
            _give_up_sql(),
            [target, now, assignment.pk, release, *sql.insert_values(report)],
        )
        sql.mark_saved(report, cursor.fetchone()[0])
    return assignment


def assignment_give_up_for(
    *,
    caller: Caller,
    authenticate: Callable[[tuple | None], object],
    assignment_id,
    kind: str,
    reason: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Assignment:
    """`assignment_give_up` for a caller known by token or session only (PostgreSQL; see
    accounts.authentication): skipping or reporting one's own open assignment is one
    statement that also checks the caller. `authenticate(row)` turns the caller's row from it
    (None if it found none) into the annotator, raising if the caller may not; every other
    case then takes `assignment_give_up`."""
    now = now or timezone.now()
    target = Assignment.Status.SKIPPED if kind == "skip" else Assignment.Status.REPORTED
    if kind not in PairReport.Kind.values or reason not in PairReport.Reason.values:
        row, closed = None, None  # the usual path explains what is wrong, once authenticated
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                _give_up_open_sql(caller.kind),
                {
                    **caller.params(),
                    "id": assignment_id,
                    "status": target,
                    "now": now,
                    "kind": kind,
                    "reason": reason,
                    "note": note[:2000],
                },
            )
            row = cursor.fetchone()
        row, closed = split_caller_row(row)
    annotator = authenticate(row)
    if closed is None:
        return assignment_give_up(
            annotator=annotator,
            assignment_id=assignment_id,
            kind=kind,
            reason=reason,
            note=note,
            now=now,
        )
    assignment = Assignment.from_db(connection.alias, claim_sql.ASSIGNMENT_FIELDS, closed)
    assignment.annotator = annotator
    return assignment


@functools.cache
def _give_up_open_sql(caller_kind: str) -> str:
    """Close the caller's own open assignment as skipped or reported, give a regular pair's
    slot back and file the report, in one statement, if the token or session
    (accounts.authentication) is still %(user)s's and that user may annotate. The caller's
    row comes first, then the closed assignment (NULLs when nothing was closed). Lock order as
    everywhere: the assignment row (by the UPDATE), then the pair row."""
    report_fields = sql.insert_fields(PairReport)
    values = {
        "assignment_id": "closed.id",
        "pair_id": "closed.pair_id",
        "annotator_id": "closed.annotator_id",
        "kind": "%(kind)s",
        "reason": "%(reason)s",
        "note": "%(note)s",
        "resolved": "false",
        "created_at": "%(now)s",
    }
    columns = [field.column for field in report_fields]
    if set(columns) != set(values):  # the model changed: say what to store in every column
        raise RuntimeError(f"give-up statement out of date with PairReport: {sorted(columns)}")
    returned = ", ".join(f"closed.{name}" for name in claim_sql.ASSIGNMENT_FIELDS)
    a, p = Assignment._meta.db_table, Pair._meta.db_table
    return sql.compact(f"""
        WITH {caller_cte_sql(caller_kind)}, closed AS (
            UPDATE {a} a SET status = %(status)s, finished_at = %(now)s
            WHERE a.id = %(id)s AND a.annotator_id = %(user)s
              AND a.status = '{Assignment.Status.OPEN.value}'
              AND {caller_may_sql(roles.ANNOTATOR)}
            RETURNING a.*
        ), released AS (
            UPDATE {p} p SET taken = p.taken - 1
            FROM closed WHERE p.id = closed.pair_id AND NOT closed.is_gold
        ), reported AS (
            INSERT INTO {PairReport._meta.db_table} ({", ".join(columns)})
            SELECT {", ".join(values[column] for column in columns)} FROM closed
            RETURNING id
        )
        {caller_result_sql(f"SELECT {returned} FROM closed, reported")}""")


@functools.cache
def _give_up_sql() -> str:
    return f"""
        WITH closed AS (
            UPDATE {Assignment._meta.db_table} SET status = %s, finished_at = %s
            WHERE id = %s RETURNING pair_id
        ), released AS (
            UPDATE {Pair._meta.db_table} p SET taken = p.taken - 1
            FROM closed WHERE p.id = closed.pair_id AND %s
        )
        {sql.insert_sql(PairReport)} RETURNING id"""
