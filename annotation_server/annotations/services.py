"""Submitting annotations (idempotent, late-submit aware, gold-scored) and marking gold pairs.

`annotation_submit` is the one submit service: the API and every command call it with an
authenticated annotator. Lock order as in task distribution: the assignment row, then the
pair row (a late submit retaking its slot).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from annotation_server.annotations import answers as answer_rules
from annotation_server.annotations import labels as label_rules
from annotation_server.annotations.external_copy import external_labels_copy
from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.annotations.submit_statement import (
    question_remember,
    submit_in_one_statement,
)
from annotation_server.assignments import expiry, rules
from annotation_server.assignments.models import Assignment
from annotation_server.assignments.selectors import assignment_lock_own
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.importers.records import json_value
from annotation_server.catalog.selectors import taxonomy_for_display
from annotation_server.core.exceptions import ApplicationError, ConflictError

# What a submit reads besides the assignment row itself.
_SUBMIT_RELATED = ("batch", "pair__prompt")


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
        stored = submit_in_one_statement(
            annotator=annotator, assignment_id=assignment_id, answers=answers, now=now
        )
        if stored is not None:
            return stored, True
    return _submit_orm(annotator=annotator, assignment_id=assignment_id, answers=answers, now=now)


@transaction.atomic
def _submit_orm(
    *, annotator, assignment_id, answers: dict[str, Any], now: dt.datetime
) -> tuple[Annotation, bool]:
    """The submit with every rule, in plain ORM terms (the meaning of submit_statement.py)."""
    assignment = assignment_lock_own(
        annotator=annotator, assignment_id=assignment_id, related=_SUBMIT_RELATED
    )
    fields, compared = _answer_fields(assignment, answers)
    if assignment.status == Assignment.Status.SUBMITTED:
        existing = assignment.annotation
        if all(getattr(existing, name) == fields[name] for name in compared):
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
    annotation = Annotation.objects.create(
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
            _gold_score(assignment.batch, fields, pair.gold_answer)
            if assignment.is_gold and pair.gold_answer
            else None
        ),
        **fields,
    )
    assignment.status = Assignment.Status.SUBMITTED
    assignment.finished_at = now
    assignment.save(update_fields=["status", "finished_at"])
    return annotation, True


def _answer_fields(assignment: Assignment, answers: dict[str, Any]) -> tuple[dict, tuple]:
    """The Annotation fields of these answers for the assignment's batch kind, and the
    fields that make a repeated submit the same answer."""
    batch = assignment.batch
    if batch.kind == Batch.Kind.CLASSIFICATION:
        if answer_rules.is_pairwise_answer(answers):
            raise ApplicationError(
                "This is a classification item: send harmful and/or categories, not a "
                "pairwise comparison.",
                code="wrong_answer_kind",
            )
        keys = _taxonomy_keys(batch.taxonomy_id)
        question_remember(batch, keys)  # the next submit of this batch takes one statement
        try:
            fields = label_rules.label_fields(answers, question=batch, keys=keys)
        except label_rules.LabelProblems as problems:
            raise ApplicationError(
                f"Your answer is incomplete: {problems}", errors=problems.errors
            ) from None
        return {**fields, "taxonomy_id": batch.taxonomy_id}, label_rules.LABEL_FIELDS
    if not answer_rules.is_pairwise_answer(answers):
        raise ApplicationError(
            "This pair asks for a comparison: send sub_preferences, harm_labels, helpfulness "
            "and harmlessness.",
            errors={
                key: ["Required for a pairwise batch."]
                for key in answer_rules.PAIRWISE_KEYS
                if answers.get(key) is None
            },
            code="wrong_answer_kind",
        )
    fields = answer_rules.answers_to_fields(
        _asked_answers(assignment, answers), left_is_video_0=assignment.left_is_video_0
    )
    return fields, answer_rules.ANSWER_FIELDS


def _taxonomy_keys(taxonomy_id: int) -> tuple[str, ...]:
    return tuple(c["key"] for c in taxonomy_for_display(taxonomy_id)["categories"])


def _gold_score(batch: Batch, fields: dict[str, Any], gold: dict[str, Any]) -> float | None:
    if batch.kind == Batch.Kind.CLASSIFICATION:
        return label_rules.label_gold_score(fields, gold)
    return answer_rules.gold_score(fields, gold)


def gold_answer_problems(batch: Batch, answer: object) -> list[str]:
    """What is wrong with a gold answer for an item of `batch` (empty: usable)."""
    if batch.kind == Batch.Kind.CLASSIFICATION:
        return label_rules.label_gold_problems(answer, keys=_taxonomy_keys(batch.taxonomy_id))
    return answer_rules.validate_gold_answer(answer)


def _asked_answers(assignment: Assignment, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers with the prompt's harm labels kept only where the pair asks for them."""
    answers = dict(answers)
    if not rules.asks_prompt_labels(batch=assignment.batch, prompt=assignment.pair.prompt):
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
    return answers


def _retake_slot(assignment: Assignment) -> None:
    # The expiry gave the slot back; take it again under the pair lock if nobody else has.
    pair = Pair.objects.select_for_update().only("id", "taken").get(pk=assignment.pair_id)
    if pair.taken >= assignment.batch.overlap:
        raise ConflictError(
            "Your assignment expired and this pair was reassigned to someone else; your "
            "answers were not stored. Ask for the next pair.",
            code="assignment_reassigned",
        )
    expiry.take_slot(pair.pk)


@transaction.atomic
def pair_mark_gold(*, pair: Pair, answer: dict[str, Any] | None) -> Pair:
    """Make `pair` a gold pair (or item) with the expected `answer`, or, with `answer=None`,
    a regular one again. Shapes: annotations/answers.py (pairwise, video_0/video_1 terms) and
    annotations/labels.py (classification)."""
    pair = Pair.objects.select_for_update().select_related("batch").get(pk=pair.pk)
    if answer is None:
        pair.is_gold, pair.gold_answer = False, None
    else:
        problems = gold_answer_problems(pair.batch, answer)
        if problems:
            raise ApplicationError(
                f"Gold answer for {pair.pair_id}: {'; '.join(problems)}.",
                errors={"gold_answer": problems},
            )
        in_use = pair.taken - pair.credited
        if not pair.is_gold and in_use:
            raise ApplicationError(
                f"Pair {pair.pair_id} already has {in_use} regular assignment(s); mark "
                "pairs gold before publishing them, or use a fresh pair.",
                code="pair_in_use",
            )
        # A gold pair never counts towards `taken`, so it keeps no credit either.
        pair.is_gold, pair.gold_answer = True, answer
        pair.taken, pair.credited = 0, 0
    pair.save(update_fields=["is_gold", "gold_answer", "taken", "credited"])
    return pair


def external_labels_write(batch, taxonomy, source: str, labels, *, copy: bool = True) -> int:
    """Store a release's labels (`labels`: (pair pk, answer, details) each) as external
    annotations of `source`; batches' imports call it through their registered writer. A
    release with several answers per item names each one's annotator in
    `details["source_annotator"]` (its annotator id, or the record's file and line).

    On PostgreSQL the rows go in with `COPY` (`external_copy`, the same rows as the
    `bulk_create` below, several times faster for a release's JSON); `copy=False`, and
    other databases, take the plain `bulk_create`."""
    if copy and connection.vendor == "postgresql":
        return external_labels_copy(batch, taxonomy, source, labels)
    rows = [
        ExternalAnnotation(
            pair_id=pair_pk, batch=batch, source=source, taxonomy=taxonomy,
            source_annotator=str(details.get("source_annotator", ""))[:128],
            answer=json_value(answer), details=json_value(details),
        )
        for pair_pk, answer, details in labels
    ]  # fmt: skip
    return len(ExternalAnnotation.objects.bulk_create(rows, batch_size=1000))
