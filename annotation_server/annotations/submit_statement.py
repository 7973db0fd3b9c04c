"""The everyday submit as one PostgreSQL statement, beside its plain meaning in services.py.

Every item a worker finishes ends with a submit; through the ORM it is a transaction of five
or six statements (lock with its joins, insert, update, begin, commit). The everyday case —
the caller's own open, regular assignment — is therefore one statement: close the
assignment (its UPDATE is the row lock: a second submit of the same assignment waits, then
finds it no longer open) and insert the annotation from the closed row, all or nothing.

- A pairwise answer, where the pair does not ask for the prompt's labels: the answers are
  mapped to video_0/video_1 by `answers.answers_to_fields` in both display orders and the
  statement takes the assignment's.
- A classification answer: what a valid answer stores depends on the batch's question, which
  the statement does not know before it runs. `labels.label_fields` (the one rule) is applied
  here for each batch question this process has seen a submit for (question_remember, called
  by the plain way); the statement takes the batch's entry only while the batch still asks
  that question (taxonomy version and ask_* flags compared in the statement), so a stale or
  missing entry, or an answer the question refuses, falls to the plain way.

Its meaning is `services._submit_orm`: the same annotation row (server duration, not gold,
not rejected). `tests/annotations/test_submit_statement.py` stores one submit each way and
compares the rows field by field. Anything else (not found, someone else's, expired, already
submitted or given up, gold, prompt labels asked, a question not seen yet) returns None
having changed nothing, and the plain way decides and explains.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import OrderedDict
from typing import Any, NamedTuple

from django.db import connection, models

from annotation_server.annotations import answers as answer_rules
from annotation_server.annotations import labels as label_rules
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt


class Question(NamedTuple):
    """What a classification batch asks, as far as the stored answer depends on it."""

    taxonomy_id: int
    ask_harmful: bool
    ask_categories: bool
    ask_reason: bool
    ask_confidence: bool
    keys: tuple[str, ...]

    @property
    def signature(self) -> list:
        # Compared in the statement with the batch row's columns, in this order.
        return list(self[:5])


# Batch pk → its question, for the few classification batches this process serves at once.
_questions: OrderedDict[int, Question] = OrderedDict()
_QUESTIONS_KEPT = 32


def question_remember(batch, keys: tuple[str, ...]) -> None:
    """Note what `batch` (a classification batch the plain way has just loaded) asks."""
    _questions[batch.pk] = Question(
        batch.taxonomy_id,
        batch.ask_harmful,
        batch.ask_categories,
        batch.ask_reason,
        batch.ask_confidence,
        keys,
    )
    _questions.move_to_end(batch.pk)
    while len(_questions) > _QUESTIONS_KEPT:
        _questions.popitem(last=False)


def submit_in_one_statement(
    *, annotator, assignment_id, answers: dict[str, Any], now: dt.datetime
) -> Annotation | None:
    """The stored annotation, or None when the plain way must decide."""
    if answer_rules.is_pairwise_answer(answers):
        return _submit_pairwise(annotator, assignment_id, answers, now)
    return _submit_label(annotator, assignment_id, answers, now)


def _submit_pairwise(annotator, assignment_id, answers: dict[str, Any], now) -> Annotation | None:
    answers = {**answers, "prompt_harm_labels": None}  # not asked of the pairs served here
    by_order = {
        order: answer_rules.answers_to_fields(answers, left_is_video_0=order)
        for order in (True, False)
    }
    params = _params(
        annotator,
        assignment_id,
        answers,
        now,
        # The answers in both display orders, one JSON document each; the statement takes
        # the one matching the assignment (two parameters instead of one per column).
        answers_1=json.dumps(by_order[True]),
        answers_0=json.dumps(by_order[False]),
    )
    row = _execute(_pairwise_statement(), params)
    if row is None:
        return None
    return _annotation(row, annotator, params, now, by_order[row[4]], reason="")


def _submit_label(annotator, assignment_id, answers: dict[str, Any], now) -> Annotation | None:
    by_batch = {}
    for batch_pk, question in _questions.items():
        try:
            fields = label_rules.label_fields(answers, question=question, keys=question.keys)
        except label_rules.LabelProblems:
            continue  # that batch refuses this answer; the plain way says why if it is that one
        by_batch[str(batch_pk)] = {"sig": question.signature, "fields": fields}
    if not by_batch:
        return None
    params = _params(annotator, assignment_id, answers, now, labels=json.dumps(by_batch))
    row = _execute(_label_statement(), params)
    if row is None:
        return None
    fields = by_batch[str(row[3])]["fields"]
    empty = dict.fromkeys(answer_rules.ANSWER_FIELDS)
    return _annotation(row, annotator, params, now, {**empty, **fields, "taxonomy_id": row[6]})


def _params(annotator, assignment_id, answers: dict[str, Any], now, **answer_params) -> dict:
    """The parameters every submit statement takes, and its kind's answer parameters."""
    timings = answers.get("timings") or {}
    return {
        "id": assignment_id,
        "user": annotator.pk,
        "now": now,
        "stage1_ms": timings.get("stage1_ms"),
        "stage2_ms": timings.get("stage2_ms"),
        **answer_params,
    }


def _execute(statement: str, params: dict) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()


def _annotation(row: tuple, annotator, params: dict, now, fields: dict, **extra) -> Annotation:
    """The stored row as a model instance, from the statement's answer and what was sent."""
    annotation_pk, assignment_pk, pair_id, batch_id, left_is_video_0, duration_ms = row[:6]
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
        **extra,
        **fields,
    )
    annotation._state.adding, annotation._state.db = False, connection.alias
    return annotation


def _insert_columns() -> list[str]:
    return [
        field.column
        for field in Annotation._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    ]


# Columns every submit fills the same way, whichever kind of answer it stores.
_COMMON_VALUES = {
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


def _from_answers(name: str) -> str:
    """Column `name` from the statement's answers document: a JSON value for JSON columns
    (JSON null stored as SQL NULL, as the ORM does), text cast to the column's type else."""
    field = Annotation._meta.get_field(name)
    if isinstance(field, models.JSONField):
        return f"NULLIF(t.answers -> '{name}', 'null'::jsonb)"
    cast = {"BooleanField": "::boolean"}.get(field.get_internal_type(), "")
    if "Integer" in field.get_internal_type():
        cast = "::integer"
    return f"(t.answers ->> '{name}'){cast}"


@functools.cache
def _pairwise_statement() -> str:
    values = {
        **_COMMON_VALUES,
        # A pairwise answer leaves the classification fields empty.
        "taxonomy_id": "NULL",
        "harmful": "NULL",
        "categories": "NULL",
        "reason": "''",
        "confidence": "NULL",
    }
    for name in answer_rules.ANSWER_FIELDS:
        values[Annotation._meta.get_field(name).column] = _from_answers(name)
    b, p, pr = Batch._meta.db_table, Pair._meta.db_table, Prompt._meta.db_table
    return _statement(
        values,
        tables=f"{b} b, {p} p, {pr} pr",
        where=f"""b.kind = '{Batch.Kind.PAIRWISE.value}'
              AND p.id = a.pair_id AND pr.id = p.prompt_id
              AND NOT (b.label_prompts AND pr.prompt_labels IS NULL)""",
        answers="""CASE WHEN a.left_is_video_0 THEN %(answers_1)s::jsonb
                     ELSE %(answers_0)s::jsonb END""",
    )


@functools.cache
def _label_statement() -> str:
    values = {**_COMMON_VALUES, "taxonomy_id": "t.taxonomy_id"}
    for name in answer_rules.ANSWER_FIELDS:
        values[Annotation._meta.get_field(name).column] = "NULL"  # not a pairwise answer
    for name in label_rules.LABEL_FIELDS:
        values[Annotation._meta.get_field(name).column] = _from_answers(name)
    entry = "%(labels)s::jsonb -> a.batch_id::text"
    return _statement(
        values,
        tables=f"{Batch._meta.db_table} b",
        where=f"""b.kind = '{Batch.Kind.CLASSIFICATION.value}'
              AND {entry} -> 'sig' = jsonb_build_array(b.taxonomy_id, b.ask_harmful,
                  b.ask_categories, b.ask_reason, b.ask_confidence)""",
        answers=f"{entry} -> 'fields'",
        returning="b.taxonomy_id",
    )


def _statement(
    values: dict[str, str], *, tables: str, where: str, answers: str, returning: str = ""
) -> str:
    """Close the caller's open regular assignment (joined with `tables`, kept by `where`) and
    insert its annotation from `values`, reading the answers document `answers`."""
    columns = _insert_columns()
    if set(columns) != set(values):  # the model changed: say what to store in every column
        raise RuntimeError(f"submit statement out of date with Annotation: {sorted(columns)}")
    more = f", t.{returning.split('.')[-1]}" if returning else ""
    return re.sub(
        r"\s+",
        " ",
        f"""
        WITH t AS (
            UPDATE {Assignment._meta.db_table} a
            SET status = '{Assignment.Status.SUBMITTED.value}', finished_at = %(now)s
            FROM {tables}
            WHERE a.id = %(id)s AND a.annotator_id = %(user)s
              AND a.status = '{Assignment.Status.OPEN.value}' AND NOT a.is_gold
              AND b.id = a.batch_id AND {where}
            RETURNING a.id, a.pair_id, a.batch_id, a.left_is_video_0,
                GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(now)s - a.claimed_at)) * 1000))::bigint
                    AS duration_ms,
                {answers} AS answers{", " + returning if returning else ""}
        ), stored AS (
            INSERT INTO {Annotation._meta.db_table} ({", ".join(columns)})
            SELECT {", ".join(values[column] for column in columns)} FROM t
            RETURNING id
        )
        SELECT stored.id, t.id, t.pair_id, t.batch_id, t.left_is_video_0, t.duration_ms{more}
        FROM stored, t""",
    ).strip()
