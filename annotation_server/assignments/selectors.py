"""Reads for task distribution: what a worker may work on, their assignments, their counts."""

from __future__ import annotations

import datetime as dt
import functools
from typing import NamedTuple
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch
from annotation_server.core import sql
from annotation_server.quality.models import AnnotatorReview

# What the API representation of an assignment reads (see assignments/apis.py).
DISPLAY_RELATED = ("batch", "pair__prompt", "pair__video_0", "pair__video_1")

# A worker holds at most this many open assignments: the current one and one prefetched.
MAX_OPEN_PER_ANNOTATOR = 2


def batch_list_for_annotator(*, annotator, name: str | None = None) -> list[Batch]:
    """Published batches `annotator` may work on, highest priority first.

    A batch with no groups is open to every annotator; otherwise the annotator must be in one
    of its groups. A batch where an admin rejected the annotator's work is closed to them, and
    a crowd worker who entered through a study link works on that study's batch only.
    """
    # Plain SQL (portable: only integer and text parameters): this runs on every claim, and
    # compiling the equivalent ORM query with its four EXISTS cost more than running it.
    params = batch_eligibility_params(user_id=annotator.pk, name=name)
    query = f"{batch_eligible_sql(by_name=name is not None)} ORDER BY b.priority DESC, b.id"
    if connection.vendor != "postgresql":
        return list(Batch.objects.raw(query, params))  # converts SQLite's booleans and dates
    # PostgreSQL returns these columns as Python values already: skip RawQuerySet's set-up.
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return [Batch.from_db(connection.alias, sql.attnames(Batch), row) for row in rows]


def batch_eligibility_params(*, user_id: int, name: str | None = None) -> dict:
    """Parameters of `batch_eligible_sql` (named, so larger statements can embed it)."""
    params = {
        "published": Batch.Status.PUBLISHED.value,
        "user": user_id,
        "rejected": AnnotatorReview.Status.REJECTED.value,
    }
    if name is not None:
        params["batch_name"] = name
    return params


@functools.cache
def batch_eligible_sql(*, by_name: bool, columns: tuple[str, ...] | None = None) -> str:
    """SELECT of the batches the annotator may work on (unordered): every column, or only
    `columns` (column names of the batch table)."""
    batch, groups = Batch._meta.db_table, Batch.groups.through._meta.db_table
    user_groups = get_user_model().groups.through._meta.db_table
    reviews, identities = AnnotatorReview._meta.db_table, ExternalIdentity._meta.db_table
    if columns is None:
        columns = tuple(f.column for f in Batch._meta.concrete_fields)
    return f"""
        SELECT {", ".join(f"b.{column}" for column in columns)} FROM {batch} b
        WHERE b.status = %(published)s
          AND (NOT EXISTS (SELECT 1 FROM {groups} bg WHERE bg.batch_id = b.id)
               OR EXISTS (SELECT 1 FROM {groups} bg
                          JOIN {user_groups} ug ON ug.group_id = bg.group_id
                          WHERE bg.batch_id = b.id AND ug.user_id = %(user)s))
          AND NOT EXISTS (SELECT 1 FROM {reviews} r
                          WHERE r.batch_id = b.id AND r.annotator_id = %(user)s
                            AND r.status = %(rejected)s)
          AND (NOT EXISTS (SELECT 1 FROM {identities} e
                           WHERE e.user_id = %(user)s AND e.batch_id IS NOT NULL)
               OR EXISTS (SELECT 1 FROM {identities} e
                          WHERE e.user_id = %(user)s AND e.batch_id = b.id))
          {"AND b.name = %(batch_name)s" if by_name else ""}"""


class OpenAssignment(NamedTuple):
    id: UUID
    batch_name: str
    slot: int | None
    live: bool  # False once past its expiry (not yet swept)


def assignment_list_open(*, annotator, now: dt.datetime) -> list[OpenAssignment]:
    """The annotator's open assignments (live and stale), oldest first."""
    if connection.vendor == "postgresql":
        # Every slow-path claim asks this first: plain SQL there, same rows as the ORM below.
        with connection.cursor() as cursor:
            cursor.execute(_open_sql(), [now, annotator.pk])
            return [OpenAssignment(*row) for row in cursor.fetchall()]
    qs = Assignment.objects.filter(annotator=annotator, status=Assignment.Status.OPEN).order_by(
        "claimed_at", "id"
    )
    return [
        OpenAssignment(pk, name, slot, expires_at > now)
        for pk, name, slot, expires_at in qs.values_list("id", "batch__name", "slot", "expires_at")
    ]


@functools.cache
def _open_sql() -> str:
    # The status is written into the statement, not bound: PostgreSQL then plans it once per
    # connection (its generic plan knows it looks for open rows, which are few).
    return f"""
        SELECT a.id, b.name, a.slot, a.expires_at > %s FROM {Assignment._meta.db_table} a
        JOIN {Batch._meta.db_table} b ON b.id = a.batch_id
        WHERE a.annotator_id = %s AND a.status = '{Assignment.Status.OPEN.value}'
        ORDER BY a.claimed_at, a.id"""


def assignment_for_display(*, assignment_id: UUID) -> Assignment:
    """One assignment with everything its API representation reads, in one query."""
    return Assignment.objects.select_related(*DISPLAY_RELATED).get(pk=assignment_id)


def assignment_get_own(*, annotator, assignment_id: UUID) -> Assignment | None:
    """The caller's own assignment, or None (someone else's looks exactly like a missing one)."""
    try:
        assignment = assignment_for_display(assignment_id=assignment_id)
    except Assignment.DoesNotExist:
        return None
    return assignment if assignment.annotator_id == annotator.pk else None


def annotator_counts(*, annotator) -> dict[str, int]:
    """Submitted annotations today (server time zone) and in total, and open assignments."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    mine: QuerySet = Annotation.objects.filter(annotator=annotator)
    return {
        "today": mine.filter(created_at__gte=start).count(),
        "total": mine.count(),
        "open": Assignment.objects.filter(
            annotator=annotator, status=Assignment.Status.OPEN, expires_at__gt=timezone.now()
        ).count(),
    }
