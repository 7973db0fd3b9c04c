"""The regular claim on PostgreSQL as one statement: lock a pair, take a slot, insert, display.

Same rules as `services._lock_regular_pair` + `taken` update + insert, in one round trip
and without ORM compilation (the claim is the hottest write of the platform):
- the pair is chosen and locked with `FOR UPDATE SKIP LOCKED` over pair_claim_idx
  (batch, active, is_gold, taken, id), so concurrent claims never wait for each other and
  `taken < overlap` is re-checked on the locked row version;
- `taken` is bumped and the assignment inserted in the same statement, so neither exists
  without the other; UNIQUE(pair, annotator) still refuses a second claim of the same pair
  (the caller retries on IntegrityError);
- the prompt and both videos come back with it, for the response.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid

from django.db import connection

from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video


@functools.cache
def _claim_sql() -> str:
    pair, assignment = Pair._meta.db_table, Assignment._meta.db_table
    prompt, video = Prompt._meta.db_table, Video._meta.db_table
    return f"""
        WITH picked AS (
            SELECT p.id FROM {pair} p
            WHERE p.batch_id = %(batch)s AND p.active AND NOT p.is_gold
              AND p.taken < %(overlap)s
              AND NOT EXISTS (SELECT 1 FROM {assignment} h
                              WHERE h.pair_id = p.id AND h.annotator_id = %(user)s)
            ORDER BY p.taken, p.id
            LIMIT 1
            FOR UPDATE OF p SKIP LOCKED
        ), bumped AS (
            UPDATE {pair} p SET taken = p.taken + 1 FROM picked WHERE p.id = picked.id
            RETURNING p.id, p.prompt_id, p.video_0_id, p.video_1_id
        ), created AS (
            INSERT INTO {assignment} (id, pair_id, batch_id, annotator_id, status,
                                      left_is_video_0, is_gold, claimed_at, expires_at)
            SELECT %(id)s, bumped.id, %(batch)s, %(user)s, %(status)s, %(left)s, false,
                   %(claimed)s, %(expires)s
            FROM bumped
            RETURNING pair_id
        )
        SELECT bumped.id, bumped.prompt_id, bumped.video_0_id, bumped.video_1_id,
               pr.text, pr.prompt_type, pr.prompt_labels::text,
               v0.uid, v0.poster, v0.duration_s, v1.uid, v1.poster, v1.duration_s
        FROM bumped
        JOIN created ON created.pair_id = bumped.id
        JOIN {prompt} pr ON pr.id = bumped.prompt_id
        JOIN {video} v0 ON v0.id = bumped.video_0_id
        JOIN {video} v1 ON v1.id = bumped.video_1_id"""


_PAIR_FIELDS = ["id", "batch_id", "prompt_id", "video_0_id", "video_1_id", "is_gold"]
_PROMPT_FIELDS = ["id", "text", "prompt_type", "prompt_labels"]
_VIDEO_FIELDS = ["id", "uid", "poster", "duration_s"]
# Column order of the assignment rows these raw statements return (also used by the submit).
ASSIGNMENT_FIELDS = [
    "id",
    "pair_id",
    "batch_id",
    "annotator_id",
    "status",
    "left_is_video_0",
    "is_gold",
    "claimed_at",
    "expires_at",
    "finished_at",
]


def claim_regular_pair(
    *,
    batch: Batch,
    annotator,
    left_is_video_0: bool,
    claimed_at: dt.datetime,
    expires_at: dt.datetime,
) -> Assignment | None:
    """Claim the best free regular pair of `batch` for `annotator` (None when there is none).

    Must run inside the claim transaction, after the annotator's row lock.
    """
    assignment_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(),
            {
                "batch": batch.pk,
                "overlap": batch.overlap,
                "user": annotator.pk,
                "id": assignment_id,
                "status": Assignment.Status.OPEN,
                "left": left_is_video_0,
                "claimed": claimed_at,
                "expires": expires_at,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    pair_id, prompt_id, video_0_id, video_1_id, text, prompt_type, labels = row[:7]
    alias = connection.alias
    prompt = Prompt.from_db(
        alias,
        _PROMPT_FIELDS,
        (prompt_id, text, prompt_type, None if labels is None else json.loads(labels)),
    )
    video_0 = Video.from_db(alias, _VIDEO_FIELDS, (video_0_id, *row[7:10]))
    video_1 = Video.from_db(alias, _VIDEO_FIELDS, (video_1_id, *row[10:13]))
    pair = Pair.from_db(
        alias, _PAIR_FIELDS, (pair_id, batch.pk, prompt_id, video_0_id, video_1_id, False)
    )
    pair.prompt, pair.video_0, pair.video_1, pair.batch = prompt, video_0, video_1, batch
    assignment = Assignment.from_db(
        alias,
        ASSIGNMENT_FIELDS,
        (
            assignment_id,
            pair_id,
            batch.pk,
            annotator.pk,
            Assignment.Status.OPEN,
            left_is_video_0,
            False,
            claimed_at,
            expires_at,
            None,
        ),
    )
    assignment.pair, assignment.batch, assignment.annotator = pair, batch, annotator
    return assignment
