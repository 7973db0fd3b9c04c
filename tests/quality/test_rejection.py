"""Rejecting an annotator's work: excluded from the export, pairs back in the queue."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.claim import assignment_claim_next
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from annotation_server.core.exceptions import ApplicationError, ForbiddenError
from annotation_server.core.models import AuditEvent
from annotation_server.quality import services
from annotation_server.quality.models import AnnotatorReview
from annotation_server.quality.stats import CHOICE_FIELDS
from annotation_server.taxonomy import harm_label
from tests.factories import BatchFactory, PairFactory, PromptFactory, submitted_count
from tests.quality.work import claim_and_submit


@pytest.fixture
def full_batch(make_user):
    """Two pairs, K=2, both filled by annotators `bad` and `good`; `late` finds nothing."""
    batch = BatchFactory(name="reject-me", overlap=2)
    # Labelled prompts: the export needs prompt labels to write a record.
    pairs = [
        PairFactory(batch=batch, prompt=PromptFactory(prompt_labels=harm_label())) for _ in range(2)
    ]
    bad, good, late = (make_user(roles.ANNOTATOR, username=n) for n in ("bad", "good", "late"))
    for worker in (bad, good):
        claim_and_submit(worker, "left")
        claim_and_submit(worker, "right")
    assert assignment_claim_next(annotator=late) is None
    return batch, pairs, bad, good, late


def test_rejection_excludes_work_and_requeues_pairs(full_batch, make_user):
    batch, pairs, bad, good, late = full_batch
    admin = make_user(roles.ADMIN)
    review = services.annotator_work_reject(
        batch=batch, annotator=bad, actor=admin, note="random clicking"
    )
    assert review.status == "rejected" and review.annotations_affected == 2
    assert set(Annotation.objects.filter(annotator=bad).values_list("rejected", flat=True)) == {
        True
    }
    assert not Annotation.objects.filter(annotator=good, rejected=True).exists()
    assert set(Assignment.objects.filter(annotator=bad).values_list("status", flat=True)) == {
        "released"
    }
    for pair in Pair.objects.filter(pk__in=[p.pk for p in pairs]):
        assert (pair.taken, submitted_count(pair)) == (1, 1)
    # Both pairs are back in the queue for someone new, never for the rejected annotator.
    assert assignment_claim_next(annotator=bad) is None
    first = claim_and_submit(late)
    second = claim_and_submit(late)
    assert {first.pair_id, second.pair_id} == {p.pk for p in pairs}
    event = AuditEvent.objects.get(verb="annotator.reject")
    assert event.actor == admin and event.details["pairs_requeued"] == 2


def test_rejected_work_is_left_out_of_the_safesora_export(full_batch, make_user, tmp_path):
    batch, _pairs, bad, good, _late = full_batch
    services.annotator_work_reject(batch=batch, annotator=bad, actor=make_user(roles.ADMIN))
    out = tmp_path / "dataset"
    call_command(
        "export_safesora",
        "--out",
        str(out),
        "--batch",
        batch.name,
        "--raw",
        "--test-fraction",
        "0",
        verbosity=0,
    )
    raw = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    annotators = {str(r.get("annotator_id", r.get("annotator"))) for r in raw}
    assert len(raw) == 2 and str(bad.pk) not in annotators
    with gzip.open(out / "config-train.json.gz", "rt") as handle:
        records = json.load(handle)
    # Only `good` remains: they chose "left" on the first pair and "right" on the second,
    # whatever the display order, so the records follow good's answers alone.
    assert len(records) == 2
    good_answers = {
        a.pair.pair_id: a.helpfulness
        for a in Annotation.objects.filter(annotator=good).select_related("pair")
    }
    assert {r["pair_id"]: r["helpfulness"] for r in records} == good_answers


def test_rejecting_twice_or_approving_after_rejection_is_refused(full_batch, make_user):
    batch, _pairs, bad, _good, _late = full_batch
    admin = make_user(roles.ADMIN)
    services.annotator_work_reject(batch=batch, annotator=bad, actor=admin)
    with pytest.raises(ApplicationError, match="already rejected .* nothing there since"):
        services.annotator_work_reject(batch=batch, annotator=bad, actor=admin)
    with pytest.raises(ApplicationError, match="cannot be approved"):
        services.annotator_work_approve(batch=batch, annotator=bad, actor=admin)
    assert sum(submitted_count(p) == 1 for p in Pair.objects.filter(batch=batch)) == 2


def test_approval_records_the_decision_and_changes_no_data(full_batch, make_user):
    batch, _pairs, _bad, good, _late = full_batch
    admin = make_user(roles.ADMIN)
    review = services.annotator_work_approve(
        batch=batch, annotator=good, actor=admin, note="spot-checked 2"
    )
    assert (review.status, review.by, review.annotations_affected) == ("approved", admin, 2)
    assert not Annotation.objects.filter(rejected=True).exists()
    pairs = Pair.objects.filter(batch=batch)
    assert sum((p.taken, submitted_count(p)) == (2, 2) for p in pairs) == 2
    # A later rejection is still possible and replaces the approval.
    services.annotator_work_reject(batch=batch, annotator=good, actor=admin)
    assert AnnotatorReview.objects.get(batch=batch, annotator=good).status == "rejected"


@pytest.mark.parametrize("role", [roles.ANNOTATOR, roles.REVIEWER])
def test_only_admins_can_reject(full_batch, make_user, client, role):
    batch, _pairs, bad, _good, _late = full_batch
    user = make_user(role)
    with pytest.raises(ForbiddenError):
        services.annotator_work_reject(batch=batch, annotator=bad, actor=user)
    client.force_login(user)
    response = client.post(
        f"/dashboard/batches/{batch.pk}/annotators/{bad.pk}/review/",
        {"decision": "reject", "confirm": "yes"},
    )
    assert response.status_code == 403
    assert not Annotation.objects.filter(rejected=True).exists()


def test_admin_rejects_from_the_dashboard_after_confirming(full_batch, make_user, client):
    batch, _pairs, bad, _good, _late = full_batch
    client.force_login(make_user(roles.ADMIN))
    url = f"/dashboard/batches/{batch.pk}/annotators/{bad.pk}/review/"
    page = client.get(url)
    assert page.status_code == 200 and "Reject work" in page.content.decode()
    unconfirmed = client.post(url, {"decision": "reject"}, follow=True)
    assert "Tick the confirmation box" in unconfirmed.content.decode()
    assert not Annotation.objects.filter(rejected=True).exists()
    done = client.post(
        url, {"decision": "reject", "confirm": "yes", "note": "clicker"}, follow=True
    )
    assert "Rejected 2 annotation(s) of bad" in done.content.decode()
    assert Annotation.objects.filter(annotator=bad, rejected=True).count() == 2


def test_rejecting_again_catches_work_done_after_the_first_rejection(full_batch, make_user):
    batch, _pairs, bad, _good, _late = full_batch
    admin = make_user(roles.ADMIN)
    services.annotator_work_reject(batch=batch, annotator=bad, actor=admin)
    # Work submitted afterwards (written directly: whether claims admit a rejected annotator
    # again is the claim service's business).
    pair = PairFactory(batch=batch, taken=1)
    now = timezone.now()
    assignment = Assignment.objects.create(
        pair=pair,
        batch=batch,
        annotator=bad,
        status="submitted",
        left_is_video_0=True,
        claimed_at=now,
        expires_at=now,
        finished_at=now,
    )
    Annotation.objects.create(
        assignment=assignment,
        pair=pair,
        batch=batch,
        annotator=bad,
        left_is_video_0=True,
        server_duration_ms=1000,
        **{f: "video_0" for f, _ in CHOICE_FIELDS},
    )
    review = services.annotator_work_reject(batch=batch, annotator=bad, actor=admin)
    assert review.annotations_affected == 3
    assert Annotation.objects.filter(annotator=bad, rejected=False).count() == 0
    pair.refresh_from_db()
    assert (pair.taken, submitted_count(pair)) == (0, 0)


def test_rejection_writes_in_chunks(make_user, monkeypatch):
    """Each IN list holds at most WRITE_CHUNK ids, so a huge batch stays under the
    65,535-parameter limit; the outcome is the same as in one statement."""
    monkeypatch.setattr(services, "WRITE_CHUNK", 2)
    batch = BatchFactory(name="many", overlap=2)
    pairs = [PairFactory(batch=batch) for _ in range(5)]
    busy, other = make_user(roles.ANNOTATOR), make_user(roles.ANNOTATOR)
    for _ in pairs:
        claim_and_submit(busy)
    claim_and_submit(other)
    admin = make_user(roles.ADMIN)
    with CaptureQueriesContext(connection) as captured:
        services.annotator_work_reject(batch=batch, annotator=busy, actor=admin)
    updates = [q for q in captured if q["sql"].startswith('UPDATE "assignments_assignment"')]
    assert len(updates) == 3  # 5 assignments, 2 per statement
    assert set(Assignment.objects.filter(annotator=busy).values_list("status", flat=True)) == {
        "released"
    }
    taken = dict(Pair.objects.filter(batch=batch).values_list("pk", "taken"))
    assert sorted(taken.values()) == [0, 0, 0, 0, 1]
