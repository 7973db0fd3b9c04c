"""The one-statement claim (claim_statement.py) means what the plain ORM claim means.

Each scenario builds one database state; the statement and `claim._claim_orm` then run on it
in turn, each inside a transaction that is rolled back, with the same clock, gold draw and
display order. Where the statement claims, it must claim exactly what the ORM claims (same
pair, batch, slot, expiry, display order) and leave the same rows behind; where it declines
(None), it must have changed nothing, so the plain way decides alone. Its display must be
what the API shows after reloading the assignment.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.annotations.services import pair_mark_gold
from annotation_server.assignments import claim, rules, selectors
from annotation_server.assignments.claim_statement import claim_in_one_statement
from annotation_server.assignments.models import AnnotatorReview, Assignment
from annotation_server.assignments.serializers import AssignmentOutSerializer
from annotation_server.batches.models import Batch, Pair
from tests.assignments.workload import make_batch
from tests.factories import PairFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=123456)
GOLD = {"helpfulness": "video_0", "harmlessness": "video_1", "video_0_harms": []}


class _Rollback(Exception):
    pass


def _snapshot() -> tuple:
    assignments = sorted(
        Assignment.objects.values_list(
            "pair_id",
            "batch_id",
            "annotator_id",
            "status",
            "slot",
            "is_gold",
            "left_is_video_0",
            "claimed_at",
            "expires_at",
            "finished_at",
        ),
        key=repr,
    )
    return assignments, sorted(Pair.objects.values_list("id", "taken"))


def _summary(assignment: Assignment | None):
    if assignment is None:
        return None
    return {
        "pair": assignment.pair_id,
        "batch": assignment.batch_id,
        "annotator": assignment.annotator_id,
        "status": assignment.status,
        "slot": assignment.slot,
        "is_gold": assignment.is_gold,
        "left_is_video_0": assignment.left_is_video_0,
        "claimed_at": assignment.claimed_at,
        "expires_at": assignment.expires_at,
    }


def _run(fn) -> tuple:
    """(summary of what fn claimed, rows afterwards, API display), all rolled back."""
    outcome = {}
    try:
        with transaction.atomic():
            claimed = fn()
            outcome["summary"] = _summary(claimed)
            outcome["rows"] = _snapshot()
            if claimed is not None:
                outcome["display"] = AssignmentOutSerializer(claimed).data
                reloaded = selectors.assignment_for_display(assignment_id=claimed.pk)
                outcome["reloaded"] = AssignmentOutSerializer(reloaded).data
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def _compare(annotator, *, batch_name=None, prefetch=False, draw=0.99, left=True, monkeypatch):
    """Run both ways on the current state; return (statement outcome, ORM outcome)."""
    monkeypatch.setattr(rules, "left_is_video_0", lambda: left)
    monkeypatch.setattr(rules, "gold_draw", lambda: draw)
    before = _snapshot()
    kwargs = {"annotator": annotator, "batch_name": batch_name, "prefetch": prefetch, "now": NOW}
    by_statement = _run(
        lambda: claim_in_one_statement(**kwargs, gold_draw=draw, left_is_video_0=left)
    )
    assert _snapshot() == before  # the rollback really undid it
    by_orm = _run(lambda: claim._claim_orm(**kwargs, gold_draw=draw))
    if by_statement["summary"] is None:
        assert by_statement["rows"] == before, "a declining statement must change nothing"
    else:
        assert by_statement["summary"] == by_orm["summary"]
        assert by_statement["rows"] == by_orm["rows"]
        assert by_statement["display"] == by_statement["reloaded"]
        assert by_statement["display"] == {
            **by_orm["reloaded"],
            "id": by_statement["display"]["id"],
        }
    return by_statement, by_orm


def _open(annotator, pair, *, slot=0, expires_in=dt.timedelta(minutes=30), status="open"):
    return Assignment.objects.create(
        pair=pair,
        batch=pair.batch,
        annotator=annotator,
        status=status,
        left_is_video_0=True,
        claimed_at=NOW - dt.timedelta(minutes=1),
        expires_at=NOW + expires_in,
        finished_at=None if status == "open" else NOW,
        slot=slot if status == "open" else None,
    )


def _claims(outcomes) -> bool:
    return outcomes[0]["summary"] is not None


@pytest.mark.parametrize("left", [True, False])
def test_fresh_worker_gets_the_same_pair_both_ways(make_user, monkeypatch, left):
    make_batch(3)
    result = _compare(make_user(), left=left, monkeypatch=monkeypatch)
    assert _claims(result)
    assert result[0]["summary"]["left_is_video_0"] is left


def test_fewest_taken_first_then_oldest(make_user, monkeypatch):
    batch, pairs = make_batch(4)
    for pair, taken in zip(pairs, [2, 1, 1, 2], strict=True):
        Pair.objects.filter(pk=pair.pk).update(taken=taken)
    result = _compare(make_user(), monkeypatch=monkeypatch)
    assert result[0]["summary"]["pair"] == pairs[1].pk


def test_pairs_already_had_full_inactive_and_gold_are_passed_over(make_user, monkeypatch):
    batch, pairs = make_batch(5, overlap=2)
    worker = make_user()
    _open(worker, pairs[0], status="submitted")
    _open(make_user(), pairs[1])
    Pair.objects.filter(pk=pairs[1].pk).update(taken=2)  # full at K=2
    Pair.objects.filter(pk=pairs[2].pk).update(active=False)
    pair_mark_gold(pair=pairs[3], answer=GOLD)
    result = _compare(worker, monkeypatch=monkeypatch)
    assert result[0]["summary"]["pair"] == pairs[4].pk


def test_nothing_left_declines_and_the_orm_says_none(make_user, monkeypatch):
    batch, [pair] = make_batch(1)
    worker = make_user()
    _open(worker, pair, status="skipped")
    result = _compare(worker, monkeypatch=monkeypatch)
    assert result[0]["summary"] is None and result[1]["summary"] is None


def test_priority_then_groups_decide_the_batch(make_user, monkeypatch):
    make_batch(2, priority=1)
    restricted, _ = make_batch(2, priority=9)
    experts = Group.objects.create(name="experts")
    restricted.groups.add(experts)
    outsider, expert = make_user(), make_user()
    expert.groups.add(experts)
    assert _compare(outsider, monkeypatch=monkeypatch)[0]["summary"]["batch"] != restricted.pk
    assert _compare(expert, monkeypatch=monkeypatch)[0]["summary"]["batch"] == restricted.pk


def test_rejected_and_study_bound_workers(make_user, monkeypatch):
    first, _ = make_batch(2, priority=9)
    second, _ = make_batch(2, priority=1)
    rejected, bound = make_user(), make_user()
    AnnotatorReview.objects.create(
        batch=first, annotator=rejected, status=AnnotatorReview.Status.REJECTED, at=NOW
    )
    ExternalIdentity.objects.create(
        provider=ExternalIdentity.Provider.PROLIFIC, external_id="a" * 24, user=bound, batch=second
    )
    assert _compare(rejected, monkeypatch=monkeypatch)[0]["summary"]["batch"] == second.pk
    assert _compare(bound, monkeypatch=monkeypatch)[0]["summary"]["batch"] == second.pk


def test_by_batch_name_and_unpublished_batches(make_user, monkeypatch):
    make_batch(2, priority=9)
    named, _ = make_batch(2)
    draft, _ = make_batch(2, priority=20, status=Batch.Status.DRAFT)
    worker = make_user()
    result = _compare(worker, batch_name=named.name, monkeypatch=monkeypatch)
    assert result[0]["summary"]["batch"] == named.pk
    assert _compare(worker, monkeypatch=monkeypatch)[0]["summary"]["batch"] != draft.pk


@pytest.mark.parametrize("draw, served_gold", [(0.05, True), (0.5, False)])
def test_gold_draw_below_the_rate_is_left_to_the_orm(make_user, monkeypatch, draw, served_gold):
    batch, pairs = make_batch(3, gold_rate=0.2)
    gold = pair_mark_gold(pair=PairFactory(batch=batch), answer=GOLD)
    result = _compare(make_user(), draw=draw, monkeypatch=monkeypatch)
    assert _claims(result) is not served_gold
    assert result[1]["summary"]["is_gold"] is served_gold
    if served_gold:
        assert result[1]["summary"]["pair"] == gold.pk


def test_exhausted_first_batch_is_left_to_the_orm(make_user, monkeypatch):
    full, [pair] = make_batch(1, priority=9, overlap=1)
    Pair.objects.filter(pk=pair.pk).update(taken=1)
    other, _ = make_batch(2)
    result = _compare(make_user(), monkeypatch=monkeypatch)
    assert not _claims(result)
    assert result[1]["summary"]["batch"] == other.pk


def test_own_open_assignments_resume_prefetch_and_stale(make_user, monkeypatch):
    batch, pairs = make_batch(4)
    worker = make_user()
    held = _open(worker, pairs[0])
    # Resuming is the plain way's: the statement declines.
    resumed = _compare(worker, monkeypatch=monkeypatch)
    assert not _claims(resumed) and resumed[1]["summary"]["pair"] == held.pair_id
    # A prefetch next to one live assignment is everyday work: slot 1.
    prefetched = _compare(worker, prefetch=True, monkeypatch=monkeypatch)
    assert _claims(prefetched) and prefetched[0]["summary"]["slot"] == 1
    # Two open: the statement declines a further prefetch.
    _open(worker, pairs[1], slot=1)
    assert not _claims(_compare(worker, prefetch=True, monkeypatch=monkeypatch))


def test_own_stale_assignment_is_closed_by_the_orm(make_user, monkeypatch):
    batch, pairs = make_batch(3)
    worker = make_user()
    _open(worker, pairs[0], expires_in=-dt.timedelta(minutes=5))
    Pair.objects.filter(pk=pairs[0].pk).update(taken=1)
    result = _compare(worker, monkeypatch=monkeypatch)
    assert not _claims(result)
    assert result[1]["summary"]["pair"] != pairs[0].pk
    assert ("expired" in {row[3] for row in result[1]["rows"][0]}) is True
