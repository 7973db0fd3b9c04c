"""The regular claim on PostgreSQL as one statement: lock a pair, take a slot, insert, display.

Two forms: `claim_regular_pair` (inside the full claim transaction, for a batch already
chosen) and `claim_next_fast` (the whole everyday claim: open-slot check, eligible batch,
pair, insert, all in one statement without a transaction block). Same rules as
`services._lock_regular_pair` + `taken` update + insert, in one round trip and without ORM
compilation (the claim is the hottest write of the platform):
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
from typing import NamedTuple

from django.conf import settings
from django.db import connection

from annotation_server.accounts import roles
from annotation_server.accounts.authentication import (
    Caller,
    caller_cte_sql,
    caller_may_sql,
    caller_result_sql,
    split_caller_row,
)
from annotation_server.assignments import selectors
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video
from annotation_server.core import sql


def _pick_sql(*, batch: str, overlap: str, condition: str = "TRUE") -> str:
    """Lock the best free regular pair of one batch the caller never had (see above)."""
    pair, assignment = Pair._meta.db_table, Assignment._meta.db_table
    return f"""
            SELECT p.id FROM {pair} p
            WHERE p.batch_id = {batch} AND {condition}
              AND p.active AND NOT p.is_gold AND p.taken < {overlap}
              AND NOT EXISTS (SELECT 1 FROM {assignment} h
                              WHERE h.pair_id = p.id AND h.annotator_id = %(user)s)
            ORDER BY p.taken, p.id
            LIMIT 1
            FOR UPDATE OF p SKIP LOCKED"""


def _bump_sql() -> str:
    return f"""
            UPDATE {Pair._meta.db_table} p SET taken = p.taken + 1 FROM picked
            WHERE p.id = picked.id
            RETURNING p.id, p.prompt_id, p.video_0_id, p.video_1_id"""


def _display_sql(extra_columns: str = "") -> str:
    """The claimed pair's prompt and videos (13 columns, then `extra_columns`)."""
    prompt, video = Prompt._meta.db_table, Video._meta.db_table
    return f"""
        SELECT bumped.id, bumped.prompt_id, bumped.video_0_id, bumped.video_1_id,
               pr.text, pr.prompt_type, pr.prompt_labels::text,
               v0.uid, v0.poster, v0.duration_s, v1.uid, v1.poster, v1.duration_s
               {extra_columns}
        FROM bumped
        JOIN created ON created.pair_id = bumped.id
        JOIN {prompt} pr ON pr.id = bumped.prompt_id
        JOIN {video} v0 ON v0.id = bumped.video_0_id
        JOIN {video} v1 ON v1.id = bumped.video_1_id"""


_INSERT_COLUMNS = """(id, pair_id, batch_id, annotator_id, status, left_is_video_0, is_gold,
                      claimed_at, expires_at, slot)"""


@functools.cache
def _claim_sql() -> str:
    assignment = Assignment._meta.db_table
    return sql.compact(f"""
        WITH picked AS ({_pick_sql(batch="%(batch)s", overlap="%(overlap)s")}
        ), bumped AS ({_bump_sql()}
        ), created AS (
            INSERT INTO {assignment} {_INSERT_COLUMNS}
            SELECT %(id)s, bumped.id, %(batch)s, %(user)s, %(status)s, %(left)s, false,
                   %(claimed)s, %(expires)s, %(slot)s
            FROM bumped
            RETURNING pair_id
        ){_display_sql()}""")


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
    "slot",
]


def claim_regular_pair(
    *,
    batch: Batch,
    annotator,
    left_is_video_0: bool,
    claimed_at: dt.datetime,
    expires_at: dt.datetime,
    slot: int,
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
                "slot": slot,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return _claimed(
        row,
        assignment_id=assignment_id,
        batch=batch,
        annotator=annotator,
        left_is_video_0=left_is_video_0,
        claimed_at=claimed_at,
        expires_at=expires_at,
        slot=slot,
    )


def _claimed(
    row, *, assignment_id, batch, annotator, left_is_video_0, claimed_at, expires_at, slot
):
    """The new Assignment, with its pair, prompt, videos and batch, from a claim's result row."""
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
            slot,
        ),
    )
    assignment.pair, assignment.batch, assignment.annotator = pair, batch, annotator
    return assignment


class ClaimDisplay(NamedTuple):
    """What the worker's browser is shown of a claimed pair, straight from the claim's row.

    The everyday claim builds this instead of the model graph (pair, prompt, two videos,
    batch): the API presents it as is, without any further query. `prompt_labels_missing`:
    nobody supplied the prompt's harm labels with the dataset.
    """

    batch_name: str
    instructions: str
    must_watch: bool
    blur_videos: bool
    label_prompts: bool
    prompt_text: str
    prompt_type: str
    prompt_labels_missing: bool
    video_0: tuple  # (uid, poster, duration_s)
    video_1: tuple

    @property
    def asks_prompt_labels(self) -> bool:
        # Same rule as annotations.services.assignment_asks_prompt_labels, on these values.
        return self.label_prompts and self.prompt_labels_missing


def claim_next_fast(
    *,
    annotator,
    batch_name: str | None,
    prefetch: bool,
    now: dt.datetime,
    gold_draw: float,
    left_is_video_0: bool,
) -> Assignment | None:
    """The everyday claim as one statement, outside any transaction block (PostgreSQL).

    Claims a regular pair of the highest-priority batch the annotator may work on when the
    annotator holds no open assignment (or, with `prefetch`, exactly one live one). Instead
    of locking the annotator's row, it relies on the unique open slot per annotator: a second
    claim of the same account at the same moment fails on that index (IntegrityError), and
    the caller goes the full way, which then resumes the first claim's pair.

    Returns None, having changed nothing, whenever the full rules are needed: an open
    assignment to resume, stale ones to sweep, a gold draw (`gold_draw` < the batch's
    gold_rate: the caller reuses the same draw), or no free pair in that batch.

    The returned Assignment carries `display` (a ClaimDisplay) for the API; its pair and
    batch are loaded only if something asks for them.
    """
    params = selectors.batch_eligibility_params(user_id=annotator.pk, name=batch_name)
    assignment_id, row = _run_fast_claim(
        params, batch_name, prefetch, now, gold_draw, left_is_video_0, caller_kind=None
    )
    if row is None:
        return None
    assignment = _fast_claimed(assignment_id, row, annotator.pk, now, left_is_video_0)
    assignment.annotator = annotator
    return assignment


def claim_next_fast_for(
    *,
    caller: Caller,
    batch_name: str | None,
    prefetch: bool,
    now: dt.datetime,
    gold_draw: float,
    left_is_video_0: bool,
) -> tuple[Assignment | None, tuple | None]:
    """`claim_next_fast` for a caller known by token or session only
    (accounts.authentication): the statement also checks the caller and claims only for an
    active annotator. Returns the
    assignment (or None, as above) and the caller's row (None: no such caller),
    from which the view authenticates the request; the assignment's `annotator` is unset."""
    params = {
        **selectors.batch_eligibility_params(user_id=caller.user_id, name=batch_name),
        **caller.params(),
    }
    assignment_id, row = _run_fast_claim(
        params, batch_name, prefetch, now, gold_draw, left_is_video_0, caller_kind=caller.kind
    )
    caller_row, row = split_caller_row(row)
    if row is None:
        return None, caller_row
    return _fast_claimed(assignment_id, row, caller.user_id, now, left_is_video_0), caller_row


def _run_fast_claim(
    params, batch_name, prefetch, now, gold_draw, left_is_video_0, *, caller_kind: str | None
):
    """Runs the fast claim statement: (the new assignment's id, the result row or None)."""
    assignment_id = uuid.uuid4()
    params.update(
        now=now, prefetch=prefetch, draw=gold_draw, id=assignment_id, left=left_is_video_0
    )
    statement = _fast_claim_sql(
        by_name=batch_name is not None,
        async_commit=settings.ASSIGNMENT_CLAIM_ASYNC_COMMIT,
        caller_kind=caller_kind,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return assignment_id, cursor.fetchone()


def _fast_claimed(assignment_id, row, user_id, now, left_is_video_0) -> Assignment:
    """The new Assignment (with its ClaimDisplay) from the fast claim's row."""
    (pair_id, batch_id, expires_at, slot, text, prompt_type, labels_missing) = row[:7]
    assignment = Assignment.from_db(
        connection.alias,
        ASSIGNMENT_FIELDS,
        (
            assignment_id,
            pair_id,
            batch_id,
            user_id,
            Assignment.Status.OPEN,
            left_is_video_0,
            False,
            now,
            expires_at,
            None,
            slot,
        ),
    )
    assignment.display = ClaimDisplay(
        *row[14:19], text, prompt_type, labels_missing, row[7:10], row[10:13]
    )
    return assignment


# The batch columns the fast claim reads (not all ~25: each is carried through every plan
# node that reads the `eligible` CTE).
_ELIGIBLE_COLUMNS = (
    "id",
    "overlap",
    "gold_rate",
    "assignment_expiry_minutes",
    "name",
    "instructions",
    "must_watch",
    "blur_videos",
    "label_prompts",
)


@functools.cache
def _fast_claim_sql(*, by_name: bool, async_commit: bool, caller_kind: str | None = None) -> str:
    assignment = Assignment._meta.db_table
    prompt, video = Prompt._meta.db_table, Video._meta.db_table
    open_ = Assignment.Status.OPEN.value
    # A claim is a reservation, not work: its commit need not wait for the disk (see
    # services._lock_annotator); set for this statement's own transaction.
    commit = "set_config('synchronous_commit', 'off', true)" if async_commit else "NULL"
    # The batch and its overlap come from scalar subqueries, not a join: the planner then
    # walks pair_claim_idx in (taken, id) order for that one batch and stops at the first
    # free row (a join sorted all the batch's pairs first).
    pick = _pick_sql(
        batch="(SELECT id FROM eligible WHERE gold_rate <= %(draw)s)",
        overlap="(SELECT overlap FROM eligible)",
        condition="EXISTS (SELECT 1 FROM allowed)",
    )
    # With a caller kind (accounts.authentication): nothing is claimed unless the token or
    # session is still %(user)s's and that user may annotate; the caller's row comes first in
    # the result, also when nothing was claimed.
    caller = f"{caller_cte_sql(caller_kind)}," if caller_kind else ""
    may = f"AND {caller_may_sql(roles.ANNOTATOR)}" if caller_kind else ""
    # Columns: pair id, batch id, expiry, slot, prompt (text, type, labels missing), video_0
    # (uid, poster, duration), video_1 (same), sync setting, then the batch's display fields
    # (ClaimDisplay's order).
    claimed = f"""
        SELECT created.pair_id, created.batch_id, created.expires_at, created.slot,
               pr.text, pr.prompt_type, pr.prompt_labels IS NULL,
               v0.uid, v0.poster, v0.duration_s, v1.uid, v1.poster, v1.duration_s, {commit},
               e.name, e.instructions, e.must_watch, e.blur_videos, e.label_prompts
        FROM bumped
        JOIN created ON created.pair_id = bumped.id
        JOIN {prompt} pr ON pr.id = bumped.prompt_id
        JOIN {video} v0 ON v0.id = bumped.video_0_id
        JOIN {video} v1 ON v1.id = bumped.video_1_id
        CROSS JOIN eligible e"""
    if caller_kind:
        claimed = caller_result_sql(claimed)
    return sql.compact(f"""
        WITH {caller} mine AS (
            SELECT a.slot, a.expires_at > %(now)s AS live FROM {assignment} a
            WHERE a.annotator_id = %(user)s AND a.status = '{open_}'
        ), allowed AS (
            SELECT CASE WHEN count(*) = 0 THEN 0 ELSE 1 - min(slot) END AS slot FROM mine
            HAVING ((count(*) = 0 AND NOT %(prefetch)s)
                OR (count(*) = 1 AND %(prefetch)s AND bool_and(live) AND min(slot) IS NOT NULL))
              {may}
        ), eligible AS (
            {selectors.batch_eligible_sql(by_name=by_name, columns=_ELIGIBLE_COLUMNS)}
            ORDER BY b.priority DESC, b.id
            LIMIT 1
        ), picked AS ({pick}
        ), bumped AS ({_bump_sql()}
        ), created AS (
            INSERT INTO {assignment} {_INSERT_COLUMNS}
            SELECT %(id)s, bumped.id, e.id, %(user)s, '{open_}', %(left)s, false, %(now)s,
                   %(now)s + e.assignment_expiry_minutes * interval '1 minute', allowed.slot
            FROM bumped, eligible e, allowed
            RETURNING pair_id, batch_id, expires_at, slot
        ){claimed}""")
