"""The everyday claim as one PostgreSQL statement, beside its plain meaning in claim.py.

The claim is the hottest write of the platform (every pair a worker sees starts with one).
Run through the ORM it is about ten statements and ~10 ms of Python per claim, which cut the
claim→submit loop to a sixth of its throughput (docs/benchmarks.md). The everyday case —
the worker holds no open assignment (or exactly one live one and asks to prefetch), the
first eligible batch draws no gold pair and has a free pair — is therefore one statement:

    open slot free? → first eligible batch → lock its best free pair (FOR UPDATE SKIP LOCKED)
    → taken + 1 → insert the assignment → return what the worker is shown

Its meaning is `claim._claim_orm`: the same rules as `rules.open_choice`,
`selectors.batch_list_for_annotator`, `selectors.regular_candidates`, `rules.expires_at` and
`expiry.take_slot`. `tests/assignments/test_claim_statement.py` runs both on the same states
and requires the same outcome. Anything else (resume, stale slots, gold, exhausted first
batch, a lost race) returns None having changed nothing, and the plain way decides.

The caller is authenticated before (DRF); the statement only receives the user's id. It
takes no lock on the account: a second claim of the same login at the same moment fails on
the open-slot index (IntegrityError), and the caller then takes the plain way.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import DEFERRED

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.assignments.models import AnnotatorReview, Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video

# The batch columns the worker is shown and the claim reads (ClaimDisplay's order).
_BATCH_FIELDS = (
    "id",
    "name",
    "instructions",
    "must_watch",
    "blur_videos",
    "label_prompts",
    "overlap",
    "gold_rate",
    "assignment_expiry_minutes",
    "kind",
    "taxonomy_id",
    "ask_harmful",
    "ask_categories",
    "ask_reason",
    "ask_confidence",
)


def claim_in_one_statement(
    *,
    annotator,
    batch_name: str | None,
    prefetch: bool,
    now: dt.datetime,
    gold_draw: float,
    left_is_video_0: bool,
) -> Assignment | None:
    """The new assignment, with its batch, pair, prompt and videos loaded for display; None
    when the plain way must decide (see the module's docstring)."""
    assignment_id = uuid.uuid4()
    params = {
        "user": annotator.pk,
        "published": Batch.Status.PUBLISHED.value,
        "rejected": AnnotatorReview.Status.REJECTED.value,
        "batch_name": batch_name,
        "now": now,
        "prefetch": prefetch,
        "draw": gold_draw,
        "id": assignment_id,
        "left": left_is_video_0,
    }
    with connection.cursor() as cursor:
        cursor.execute(_statement(by_name=batch_name is not None), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _loaded(row, assignment_id, annotator, now, left_is_video_0)


def _loaded(row, assignment_id, annotator, now, left_is_video_0) -> Assignment:
    n = len(_BATCH_FIELDS)
    batch = _from_db(Batch, dict(zip(_BATCH_FIELDS, row[:n], strict=True)))
    pair_id, prompt_id, video_0_id, video_1_id, expires_at, slot = row[n : n + 6]
    text, prompt_type, prompt_labels_missing = row[n + 6 : n + 9]
    # Only "missing or not" matters for display (rules.asks_prompt_labels).
    labels = None if prompt_labels_missing else []
    prompt = None
    if prompt_id is not None:  # classification items may come without a prompt
        prompt = _from_db(
            Prompt,
            {"id": prompt_id, "text": text, "prompt_type": prompt_type, "prompt_labels": labels},
        )
    videos = [
        _from_db(
            Video,
            {
                "id": video_id,
                "uid": uid,
                "poster": poster,
                "duration_s": duration,
                "media_type": media_type,
            },
        )
        if video_id is not None
        else None  # a classification item has one
        for video_id, (uid, poster, duration, media_type) in (
            (video_0_id, row[n + 9 : n + 13]),
            (video_1_id, row[n + 13 : n + 17]),
        )
    ]
    pair = _from_db(
        Pair,
        {
            "id": pair_id,
            "batch_id": batch.pk,
            "prompt_id": prompt_id,
            "video_0_id": video_0_id,
            "video_1_id": video_1_id,
            "is_gold": False,
        },
    )
    pair.batch, pair.prompt, (pair.video_0, pair.video_1) = batch, prompt, videos
    assignment = Assignment(
        id=assignment_id,
        pair=pair,
        batch=batch,
        annotator=annotator,
        status=Assignment.Status.OPEN,
        left_is_video_0=left_is_video_0,
        is_gold=False,
        claimed_at=now,
        expires_at=expires_at,
        slot=slot,
    )
    assignment._state.adding, assignment._state.db = False, connection.alias
    return assignment


def _from_db(model, values: dict):
    """A model instance loaded with only these fields (the others deferred, as with
    `.only()`). Given a value (or DEFERRED) for every field in the model's order,
    Model.from_db skips its own search for the deferred ones."""
    attnames, positions = _layout(model, tuple(values))
    row = [DEFERRED] * len(attnames)
    for position, value in zip(positions, values.values(), strict=True):
        row[position] = value
    return model.from_db(connection.alias, attnames, row)


@functools.cache
def _layout(model, names: tuple[str, ...]) -> tuple[list[str], tuple[int, ...]]:
    """The model's field names in order, and the position of each of `names` among them."""
    attnames = [field.attname for field in model._meta.concrete_fields]
    return attnames, tuple(attnames.index(name) for name in names)


@functools.cache
def _statement(*, by_name: bool) -> str:
    a, p = Assignment._meta.db_table, Pair._meta.db_table
    b, bg = Batch._meta.db_table, Batch.groups.through._meta.db_table
    ug = get_user_model().groups.through._meta.db_table
    r, e = AnnotatorReview._meta.db_table, ExternalIdentity._meta.db_table
    prompt, video = Prompt._meta.db_table, Video._meta.db_table
    open_ = Assignment.Status.OPEN.value
    batch_columns = ", ".join(f"b.{name}" for name in _BATCH_FIELDS)
    # The batch and its overlap come from scalar subqueries, not a join: the planner then
    # walks pair_claim_idx in (taken, id) order for that one batch and stops at the first
    # free row (a join sorted all the batch's pairs first).
    # Written indented for reading, sent as one line: psycopg caches its placeholder
    # conversion only for statements up to 4,096 bytes.
    return _one_line(f"""
        WITH mine AS (
            SELECT a.slot, a.expires_at > %(now)s AS live FROM {a} a
            WHERE a.annotator_id = %(user)s AND a.status = '{open_}'
        ), allowed AS (
            SELECT CASE WHEN count(*) = 0 THEN 0 ELSE 1 - min(slot) END AS slot FROM mine
            HAVING (count(*) = 0 AND NOT %(prefetch)s)
                OR (count(*) = 1 AND %(prefetch)s AND bool_and(live) AND min(slot) IS NOT NULL)
        ), eligible AS (
            SELECT {batch_columns} FROM {b} b
            WHERE b.status = %(published)s
              AND (NOT EXISTS (SELECT 1 FROM {bg} bg WHERE bg.batch_id = b.id)
                   OR EXISTS (SELECT 1 FROM {bg} bg JOIN {ug} ug ON ug.group_id = bg.group_id
                              WHERE bg.batch_id = b.id AND ug.user_id = %(user)s))
              AND NOT EXISTS (SELECT 1 FROM {r} r WHERE r.batch_id = b.id
                              AND r.annotator_id = %(user)s AND r.status = %(rejected)s)
              AND (NOT EXISTS (SELECT 1 FROM {e} e
                               WHERE e.user_id = %(user)s AND e.batch_id IS NOT NULL)
                   OR EXISTS (SELECT 1 FROM {e} e
                              WHERE e.user_id = %(user)s AND e.batch_id = b.id))
              {"AND b.name = %(batch_name)s" if by_name else ""}
            ORDER BY b.priority DESC, b.id
            LIMIT 1
        ), picked AS (
            SELECT p.id FROM {p} p
            WHERE p.batch_id = (SELECT id FROM eligible WHERE gold_rate <= %(draw)s)
              AND EXISTS (SELECT 1 FROM allowed)
              AND p.active AND NOT p.is_gold AND p.taken < (SELECT overlap FROM eligible)
              AND NOT EXISTS (SELECT 1 FROM {a} h
                              WHERE h.pair_id = p.id AND h.annotator_id = %(user)s)
            ORDER BY p.taken, p.id
            LIMIT 1
            FOR UPDATE OF p SKIP LOCKED
        ), bumped AS (
            UPDATE {p} p SET taken = p.taken + 1 FROM picked WHERE p.id = picked.id
            RETURNING p.id, p.prompt_id, p.video_0_id, p.video_1_id
        ), created AS (
            INSERT INTO {a} (id, pair_id, batch_id, annotator_id, status, left_is_video_0,
                             is_gold, claimed_at, expires_at, slot)
            SELECT %(id)s, bumped.id, e.id, %(user)s, '{open_}', %(left)s, false, %(now)s,
                   %(now)s + e.assignment_expiry_minutes * interval '1 minute', allowed.slot
            FROM bumped, eligible e, allowed
            RETURNING pair_id, expires_at, slot
        )
        SELECT {", ".join(f"e.{name}" for name in _BATCH_FIELDS)},
               bumped.id, bumped.prompt_id, bumped.video_0_id, bumped.video_1_id,
               created.expires_at, created.slot,
               pr.text, pr.prompt_type, pr.prompt_labels IS NULL,
               v0.uid, v0.poster, v0.duration_s, v0.media_type,
               v1.uid, v1.poster, v1.duration_s, v1.media_type
        FROM bumped
        JOIN created ON created.pair_id = bumped.id
        LEFT JOIN {prompt} pr ON pr.id = bumped.prompt_id
        JOIN {video} v0 ON v0.id = bumped.video_0_id
        LEFT JOIN {video} v1 ON v1.id = bumped.video_1_id
        CROSS JOIN eligible e""")


def _one_line(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()
