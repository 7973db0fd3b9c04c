"""The everyday submit as one PostgreSQL statement, beside its plain meaning in services.py.

Every pair a worker finishes ends with a submit; through the ORM it is a transaction of five
statements (lock with its joins, insert, update, begin, commit). The everyday case — the
caller's own open, regular assignment of a pairwise batch whose pair does not ask for the
prompt's labels — is therefore one statement: close the assignment (its UPDATE is the row
lock: a second submit of the same assignment waits, then finds it no longer open) and insert
the annotation from the closed row, all or nothing.

Its meaning is `services._submit_orm`: the same annotation row (answers mapped to
video_0/video_1 by `answers.answers_to_fields`, server duration, not gold, not rejected).
`tests/annotations/test_submit_statement.py` stores one submit each way and compares the
rows field by field. Anything else (not found, someone else's, expired, already submitted or
given up, gold, prompt labels asked, a classification item) returns None having changed
nothing, and the plain way decides and explains.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Any

from django.db import connection, models

from annotation_server.annotations import answers as answer_rules
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt


def submit_in_one_statement(
    *, annotator, assignment_id, answers: dict[str, Any], now: dt.datetime
) -> Annotation | None:
    """The stored annotation, or None when the plain way must decide."""
    answers = {**answers, "prompt_harm_labels": None}  # not asked of the pairs served here
    by_order = {
        order: answer_rules.answers_to_fields(answers, left_is_video_0=order)
        for order in (True, False)
    }
    timings = answers.get("timings") or {}
    params = {
        "id": assignment_id,
        "user": annotator.pk,
        "now": now,
        "stage1_ms": timings.get("stage1_ms"),
        "stage2_ms": timings.get("stage2_ms"),
        # The answers in both display orders, one JSON document each; the statement takes
        # the one matching the assignment (two parameters instead of one per column).
        "answers_1": json.dumps(by_order[True]),
        "answers_0": json.dumps(by_order[False]),
    }
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    annotation_pk, assignment_pk, pair_id, batch_id, left_is_video_0, duration_ms = row
    annotation = Annotation(
        id=annotation_pk,
        assignment_id=assignment_pk,
        pair_id=pair_id,
        batch_id=batch_id,
        annotator=annotator,
        left_is_video_0=left_is_video_0,
        stage1_ms=params["stage1_ms"],
        stage2_ms=params["stage2_ms"],
        server_duration_ms=duration_ms,
        is_gold=False,
        gold_score=None,
        rejected=False,
        created_at=now,
        reason="",
        **by_order[left_is_video_0],
    )
    annotation._state.adding, annotation._state.db = False, connection.alias
    return annotation


def _insert_columns() -> list[str]:
    return [
        field.column
        for field in Annotation._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    ]


@functools.cache
def _statement() -> str:
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
        # A pairwise answer leaves the classification fields empty.
        "taxonomy_id": "NULL",
        "harmful": "NULL",
        "categories": "NULL",
        "reason": "''",
        "confidence": "NULL",
    }
    for name in answer_rules.ANSWER_FIELDS:
        field = Annotation._meta.get_field(name)
        # From the answers document of the assignment's display order: a JSON value for JSON
        # columns (JSON null stored as SQL NULL, as the ORM does), text for the others.
        values[field.column] = (
            f"NULLIF(t.answers -> '{name}', 'null'::jsonb)"
            if isinstance(field, models.JSONField)
            else f"t.answers ->> '{name}'"
        )
    columns = _insert_columns()
    if set(columns) != set(values):  # the model changed: say what to store in every column
        raise RuntimeError(f"submit statement out of date with Annotation: {sorted(columns)}")
    a, b = Assignment._meta.db_table, Batch._meta.db_table
    p, pr = Pair._meta.db_table, Prompt._meta.db_table
    return re.sub(
        r"\s+",
        " ",
        f"""
        WITH t AS (
            UPDATE {a} a SET status = '{Assignment.Status.SUBMITTED.value}', finished_at = %(now)s
            FROM {b} b, {p} p, {pr} pr
            WHERE a.id = %(id)s AND a.annotator_id = %(user)s
              AND a.status = '{Assignment.Status.OPEN.value}' AND NOT a.is_gold
              AND b.id = a.batch_id AND b.kind = '{Batch.Kind.PAIRWISE.value}'
              AND p.id = a.pair_id AND pr.id = p.prompt_id
              AND NOT (b.label_prompts AND pr.prompt_labels IS NULL)
            RETURNING a.id, a.pair_id, a.batch_id, a.left_is_video_0,
                GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(now)s - a.claimed_at)) * 1000))::bigint
                    AS duration_ms,
                CASE WHEN a.left_is_video_0 THEN %(answers_1)s::jsonb
                     ELSE %(answers_0)s::jsonb END AS answers
        ), stored AS (
            INSERT INTO {Annotation._meta.db_table} ({", ".join(columns)})
            SELECT {", ".join(values[column] for column in columns)} FROM t
            RETURNING id
        )
        SELECT stored.id, t.id, t.pair_id, t.batch_id, t.left_is_video_0, t.duration_ms
        FROM stored, t""",
    ).strip()
