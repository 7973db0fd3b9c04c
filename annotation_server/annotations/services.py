"""Submitting annotations (idempotent, late-submit aware, gold-scored) and marking gold pairs."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.accounts.authentication import (
    Caller,
    caller_cte_sql,
    caller_may_sql,
    caller_result_sql,
    split_caller_row,
)
from annotation_server.annotations import answers as answer_rules
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.claim_sql import ASSIGNMENT_FIELDS
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt
from annotation_server.core import sql
from annotation_server.core.exceptions import ApplicationError, ConflictError, NotFoundError


def assignment_asks_prompt_labels(assignment: Assignment) -> bool:
    """The batch wants prompt harm labels and nobody supplied them with the dataset."""
    return assignment.batch.label_prompts and assignment.pair.prompt.prompt_labels is None


def annotation_submit(
    *, annotator, assignment_id, answers: dict[str, Any], now: dt.datetime | None = None
) -> tuple[Annotation, bool]:
    """Store the annotator's answers (left/right terms, already shape-checked) for one assignment.

    Returns (annotation, created). Submitting the same answers again returns the stored
    annotation; different answers for a submitted assignment are refused. A submit after
    expiry is accepted while the pair still has a free slot (no work is lost), and refused
    once the slot went to someone else.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        stored, _ = _submit_open_regular(
            user_id=annotator.pk, caller=None, assignment_id=assignment_id, answers=answers, now=now
        )
        if stored is not None:
            return stored, True
    return _submit(annotator=annotator, assignment_id=assignment_id, answers=answers, now=now)


def annotation_submit_for(
    *,
    caller: Caller,
    authenticate: Callable[[tuple | None], object],
    assignment_id,
    answers: dict[str, Any],
    now: dt.datetime | None = None,
) -> tuple[Annotation, bool]:
    """`annotation_submit` for a caller known by token or session only (PostgreSQL; see
    accounts.authentication): the everyday submit's statement checks the caller too.
    `authenticate(row)` turns the caller's row from it (None if it found none) into the
    annotator, raising if the caller may not submit; it runs before anything else is done."""
    now = now or timezone.now()
    stored, row = _submit_open_regular(
        user_id=caller.user_id, caller=caller, assignment_id=assignment_id, answers=answers, now=now
    )
    annotator = authenticate(row)
    if stored is not None:
        return stored, True
    return _submit(annotator=annotator, assignment_id=assignment_id, answers=answers, now=now)


# Annotation columns whose value depends on which video the worker saw on the left.
_ORDER_DEPENDENT = answer_rules.ANSWER_FIELDS


def _submit_open_regular(
    *,
    user_id: int,
    caller: Caller | None,
    assignment_id,
    answers: dict[str, Any],
    now: dt.datetime,
) -> tuple[Annotation | None, tuple | None]:
    """The everyday submit in one statement (no transaction block): the caller's own open,
    regular assignment whose batch does not ask for prompt labels. Locks it, stores the
    annotation and closes the assignment, all or nothing.

    Returns (annotation, caller row). The annotation is None, nothing having changed, for
    every other case (someone else's or an unknown id, expired, already submitted or given
    up, gold, prompt labels asked); `_submit` then decides with the full rules. With a
    `caller`, the statement also checks the token or session (and stores nothing unless the
    caller may annotate) and returns the caller's row (None: no such caller); without one
    the caller row is always None.
    """
    answers = {**answers, "prompt_harm_labels": None}  # not asked on this path
    by_order = {
        True: answer_rules.answers_to_fields(answers, left_is_video_0=True),
        False: answer_rules.answers_to_fields(answers, left_is_video_0=False),
    }
    timings = answers.get("timings") or {}
    params = {
        "id": assignment_id,
        "user": user_id,
        "now": now,
        "stage1_ms": timings.get("stage1_ms"),
        "stage2_ms": timings.get("stage2_ms"),
        # The answers in both display orders, one JSON document each; the statement takes
        # the one matching the assignment (two parameters instead of one per column).
        "answers_1": json.dumps(by_order[True]),
        "answers_0": json.dumps(by_order[False]),
    }
    if caller is not None:
        params.update(caller.params())
    statement = _submit_open_regular_sql(caller_kind=caller.kind if caller else None)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    caller_row = None
    if caller is not None:
        caller_row, row = split_caller_row(row)
    if row is None:
        return None, caller_row
    annotation_pk, assignment_pk, pair_id, batch_id, left_is_video_0, duration_ms = row
    values = {
        "id": annotation_pk,
        "assignment_id": assignment_pk,
        "pair_id": pair_id,
        "batch_id": batch_id,
        "annotator_id": user_id,
        "left_is_video_0": left_is_video_0,
        "stage1_ms": params["stage1_ms"],
        "stage2_ms": params["stage2_ms"],
        "server_duration_ms": duration_ms,
        "is_gold": False,
        "gold_score": None,
        "rejected": False,
        "created_at": now,
        **by_order[left_is_video_0],
    }
    names = sql.attnames(Annotation)
    annotation = Annotation.from_db(connection.alias, names, tuple(values[name] for name in names))
    return annotation, caller_row


@functools.cache
def _order_dependent_fields() -> tuple[tuple[str, models.Field], ...]:
    return tuple((name, Annotation._meta.get_field(name)) for name in _ORDER_DEPENDENT)


@functools.cache
def _submit_open_regular_sql(*, caller_kind: str | None = None) -> str:
    values = {
        "assignment_id": "t.id",
        "pair_id": "t.pair_id",
        "batch_id": "t.batch_id",
        "annotator_id": "%(user)s",
        "left_is_video_0": "t.left_is_video_0",
        "stage1_ms": "%(stage1_ms)s",
        "stage2_ms": "%(stage2_ms)s",
        "server_duration_ms": "t.duration_ms",
        "is_gold": "false",
        "gold_score": "NULL",
        "rejected": "false",
        "created_at": "%(now)s",
    }
    for name, column in _order_dependent_fields():
        # From the answers document of the assignment's display order (see the `t` CTE): a
        # JSON value for JSON columns (JSON null stored as SQL NULL, as the ORM does), text
        # for the others.
        values[column.column] = (
            f"NULLIF(t.answers -> '{name}', 'null'::jsonb)"
            if isinstance(column, models.JSONField)
            else f"t.answers ->> '{name}'"
        )
    columns = [field.column for field in sql.insert_fields(Annotation)]
    missing = set(columns) ^ set(values)
    if missing:  # the model changed: this statement must say what to store in every column
        raise RuntimeError(f"submit statement out of date with Annotation: {sorted(missing)}")
    a, b = Assignment._meta.db_table, Batch._meta.db_table
    p, pr = Pair._meta.db_table, Prompt._meta.db_table
    # The assignment is closed first: that UPDATE row-locks it (a second submit of the same
    # assignment waits, then finds it no longer open and takes the full path), so no separate
    # SELECT … FOR UPDATE (one plan node and one row-lock WAL record less); the annotation is
    # inserted from the closed row, in the same statement, all or nothing.
    # With a caller kind (accounts.authentication): nothing is stored unless the token or
    # session is still %(user)s's and that user may annotate; the caller's row comes first in
    # the result, also when nothing was stored.
    caller = f"{caller_cte_sql(caller_kind)}," if caller_kind else ""
    may = f"AND {caller_may_sql(roles.ANNOTATOR)}" if caller_kind else ""
    result = (
        "SELECT stored.id, t.id, t.pair_id, t.batch_id, t.left_is_video_0, t.duration_ms "
        "FROM stored, t"
    )
    if caller_kind:
        result = caller_result_sql(result)
    return sql.compact(f"""
        WITH {caller} t AS (
            UPDATE {a} a SET status = '{Assignment.Status.SUBMITTED.value}', finished_at = %(now)s
            FROM {b} b, {p} p, {pr} pr
            WHERE a.id = %(id)s AND a.annotator_id = %(user)s
              AND a.status = '{Assignment.Status.OPEN.value}' AND NOT a.is_gold
              AND b.id = a.batch_id AND p.id = a.pair_id AND pr.id = p.prompt_id
              AND NOT (b.label_prompts AND pr.prompt_labels IS NULL) {may}
            RETURNING a.id, a.pair_id, a.batch_id, a.left_is_video_0,
                GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(now)s - a.claimed_at)) * 1000))::bigint
                    AS duration_ms,
                CASE WHEN a.left_is_video_0 THEN %(answers_1)s::jsonb
                     ELSE %(answers_0)s::jsonb END AS answers
        ), stored AS (
            INSERT INTO {Annotation._meta.db_table} ({", ".join(columns)})
            SELECT {", ".join(values[column] for column in columns)} FROM t
            RETURNING id
        ){result}""")


@transaction.atomic
def _submit(
    *, annotator, assignment_id, answers: dict[str, Any], now: dt.datetime
) -> tuple[Annotation, bool]:
    assignment = _lock_own_for_submit(annotator=annotator, assignment_id=assignment_id)
    if assignment is None:
        raise NotFoundError("No such assignment of yours.", code="assignment_not_found")
    answers = dict(answers)
    if not assignment_asks_prompt_labels(assignment):
        answers["prompt_harm_labels"] = None  # not asked: whatever was sent is not stored
    elif answers.get("prompt_harm_labels") is None:
        raise ApplicationError(
            "This pair asks you to label the prompt's harms too.",
            errors={
                "prompt_harm_labels": [
                    "Required for this batch: a list of harm keys ([] if the prompt is harmless)."
                ]
            },
        )
    fields = answer_rules.answers_to_fields(answers, left_is_video_0=assignment.left_is_video_0)

    if assignment.status == Assignment.Status.SUBMITTED:
        existing = assignment.annotation
        if all(getattr(existing, name) == fields[name] for name in answer_rules.ANSWER_FIELDS):
            return existing, False
        raise ConflictError(
            "This assignment was already submitted with different answers; a submitted "
            "annotation cannot be changed.",
            code="already_submitted",
        )
    if assignment.status not in (Assignment.Status.OPEN, Assignment.Status.EXPIRED):
        raise ConflictError(
            f"This assignment was {assignment.get_status_display().lower()} and can no longer "
            "be submitted.",
            code="assignment_closed",
        )
    if assignment.status == Assignment.Status.EXPIRED and not assignment.is_gold:
        _retake_slot(assignment)

    timings = answers.get("timings") or {}
    pair = assignment.pair
    annotation = Annotation(
        assignment=assignment,
        pair=pair,
        batch=assignment.batch,
        annotator=annotator,
        left_is_video_0=assignment.left_is_video_0,
        stage1_ms=timings.get("stage1_ms"),
        stage2_ms=timings.get("stage2_ms"),
        server_duration_ms=max(0, int((now - assignment.claimed_at).total_seconds() * 1000)),
        is_gold=assignment.is_gold,
        gold_score=(
            answer_rules.gold_score(fields, pair.gold_answer)
            if assignment.is_gold and pair.gold_answer
            else None
        ),
        **fields,
    )
    assignment.status = Assignment.Status.SUBMITTED
    assignment.finished_at = now
    _store_and_close(annotation, assignment)
    return annotation, True


def _store_and_close(annotation: Annotation, assignment: Assignment) -> None:
    """Insert the annotation and mark the (locked) assignment submitted.

    On PostgreSQL this is one statement.
    """
    if connection.vendor != "postgresql":
        annotation.save(force_insert=True)
        assignment.save(update_fields=["status", "finished_at"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _store_and_close_sql(),
            [
                *sql.insert_values(annotation),
                assignment.status,
                assignment.finished_at,
                assignment.pk,
            ],
        )
        sql.mark_saved(annotation, cursor.fetchone()[0])


@functools.cache
def _store_and_close_sql() -> str:
    return f"""
        WITH stored AS ({sql.insert_sql(Annotation)} RETURNING id),
        closed AS (
            UPDATE {Assignment._meta.db_table} SET status = %s, finished_at = %s WHERE id = %s
        )
        SELECT id FROM stored"""


def _lock_own_for_submit(*, annotator, assignment_id) -> Assignment | None:
    """The caller's assignment, row-locked, with the batch, pair and prompt a submit reads."""
    if connection.vendor != "postgresql":
        return (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("batch", "pair__prompt")
            .filter(pk=assignment_id, annotator=annotator)
            .first()
        )
    # The submit is the other half of every worker's loop: plain SQL, no ORM compilation.
    with connection.cursor() as cursor:
        cursor.execute(_submit_lock_sql(), [assignment_id, annotator.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    alias, n = connection.alias, len(ASSIGNMENT_FIELDS)
    assignment = Assignment.from_db(alias, ASSIGNMENT_FIELDS, row[:n])
    overlap, label_prompts, prompt_id, gold_answer, prompt_labels, pair_is_gold = row[n:]
    batch = Batch.from_db(
        alias, ["id", "overlap", "label_prompts"], (row[2], overlap, label_prompts)
    )
    pair = Pair.from_db(
        alias,
        ["id", "batch_id", "prompt_id", "is_gold", "gold_answer"],
        (row[1], row[2], prompt_id, pair_is_gold, _json(gold_answer)),
    )
    pair.prompt = Prompt.from_db(alias, ["id", "prompt_labels"], (prompt_id, _json(prompt_labels)))
    assignment.batch, assignment.pair, assignment.annotator = batch, pair, annotator
    return assignment


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@functools.cache
def _submit_lock_sql() -> str:
    columns = ", ".join(f"a.{name}" for name in ASSIGNMENT_FIELDS)
    return f"""
        SELECT {columns}, b.overlap, b.label_prompts,
               p.prompt_id, p.gold_answer::text, pr.prompt_labels::text, p.is_gold
        FROM {Assignment._meta.db_table} a
        JOIN {Batch._meta.db_table} b ON b.id = a.batch_id
        JOIN {Pair._meta.db_table} p ON p.id = a.pair_id
        JOIN {Prompt._meta.db_table} pr ON pr.id = p.prompt_id
        WHERE a.id = %s AND a.annotator_id = %s
        FOR UPDATE OF a"""


def _retake_slot(assignment: Assignment) -> None:
    # The expiry gave the slot back; take it again under the pair lock if nobody else has.
    pair = Pair.objects.select_for_update().only("id", "taken").get(pk=assignment.pair_id)
    if pair.taken >= assignment.batch.overlap:
        raise ConflictError(
            "Your assignment expired and this pair was reassigned to someone else; your "
            "answers were not stored. Ask for the next pair.",
            code="assignment_reassigned",
        )
    Pair.objects.filter(pk=pair.pk).update(taken=F("taken") + 1)


@transaction.atomic
def pair_mark_gold(*, pair: Pair, answer: dict[str, Any] | None) -> Pair:
    """Make `pair` a gold pair with the expected `answer` (video_0/video_1 terms), or, with
    `answer=None`, a regular pair again. See annotations/answers.py for the answer's shape.
    """
    pair = Pair.objects.select_for_update().get(pk=pair.pk)
    if answer is None:
        pair.is_gold, pair.gold_answer = False, None
    else:
        problems = answer_rules.validate_gold_answer(answer)
        if problems:
            raise ApplicationError(
                f"Gold answer for {pair.pair_id}: {'; '.join(problems)}.",
                errors={"gold_answer": problems},
            )
        if not pair.is_gold and pair.taken:
            raise ApplicationError(
                f"Pair {pair.pair_id} already has {pair.taken} regular assignment(s); mark "
                "pairs gold before publishing them, or use a fresh pair.",
                code="pair_in_use",
            )
        pair.is_gold, pair.gold_answer = True, answer
    pair.save(update_fields=["is_gold", "gold_answer"])
    return pair
