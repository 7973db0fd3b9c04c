"""Skip, report, expiry (beat task and at claim time) and late submits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.assignments.tasks import assignment_expire_stale_task
from tests.assignments.workload import NEXT, client_for, make_batch, submit
from tests.factories import submitted_count

pytestmark = pytest.mark.django_db


def _claim(client) -> str:
    response = client.post(NEXT, {}, format="json")
    assert response.status_code == 200
    return response.json()["id"]


def _expire(assignment_id: str) -> None:
    Assignment.objects.filter(pk=assignment_id).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_skip_frees_the_slot_and_the_pair_never_comes_back(make_user):
    _, [pair] = make_batch(1, overlap=1)
    worker, other = client_for(make_user()), client_for(make_user())
    assignment_id = _claim(worker)
    response = worker.post(
        f"/api/v1/assignments/{assignment_id}/skip/",
        {"reason": "unsure", "note": "cannot tell"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "skipped"
    pair.refresh_from_db()
    assert pair.taken == 0
    assert worker.post(NEXT, {}, format="json").status_code == 204
    assert other.post(NEXT, {}, format="json").status_code == 200
    report = PairReport.objects.get()
    assert (report.kind, report.reason, report.note) == ("skip", "unsure", "cannot tell")
    # Skipping twice is harmless; submitting a skipped pair is refused.
    again = worker.post(
        f"/api/v1/assignments/{assignment_id}/skip/", {"reason": "unsure"}, format="json"
    )
    assert again.status_code == 200 and PairReport.objects.count() == 1
    refused = submit(worker, assignment_id)
    assert refused.status_code == 409 and "skipped" in refused.json()["detail"]


def test_report_reaches_the_admin_and_frees_the_slot(make_user, admin_client):
    _, [pair] = make_batch(1)
    worker = client_for(make_user())
    assignment_id = _claim(worker)
    response = worker.post(
        f"/api/v1/assignments/{assignment_id}/report/",
        {"reason": "broken_video", "note": "left one is black"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "reported"
    pair.refresh_from_db()
    assert pair.taken == 0
    page = admin_client.get("/admin/assignments/pairreport/")
    assert page.status_code == 200
    assert "left one is black" in page.content.decode()


def test_report_with_unknown_reason_names_the_field_and_changes_nothing(make_user):
    make_batch(1)
    worker = client_for(make_user())
    assignment_id = _claim(worker)
    response = worker.post(
        f"/api/v1/assignments/{assignment_id}/report/", {"reason": "boring"}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert Assignment.objects.get(pk=assignment_id).status == "open"


def test_submitted_assignment_cannot_be_skipped(make_user):
    make_batch(1)
    worker = client_for(make_user())
    assignment_id = _claim(worker)
    submit(worker, assignment_id)
    response = worker.post(
        f"/api/v1/assignments/{assignment_id}/skip/", {"reason": "other"}, format="json"
    )
    assert response.status_code == 409
    assert Annotation.objects.count() == 1


def test_beat_task_expires_stale_assignments_and_frees_slots(make_user):
    _, [pair] = make_batch(1, overlap=1)
    worker = client_for(make_user())
    stale, fresh_batch_id = _claim(worker), None
    _expire(stale)
    assert assignment_expire_stale_task() == 1
    assert Assignment.objects.get(pk=stale).status == "expired"
    pair.refresh_from_db()
    assert pair.taken == 0
    assert assignment_expire_stale_task() == 0
    assert fresh_batch_id is None
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200


def test_claim_reclaims_expired_slots_without_the_beat_task(make_user):
    _, [pair] = make_batch(1, overlap=1)
    first = _claim(client_for(make_user()))
    late_comer = client_for(make_user())
    assert late_comer.post(NEXT, {}, format="json").status_code == 204
    _expire(first)
    assert late_comer.post(NEXT, {}, format="json").status_code == 200
    pair.refresh_from_db()
    assert pair.taken == 1
    assert Assignment.objects.get(pk=first).status == "expired"


def test_expired_assignment_is_not_resumed(make_user):
    make_batch(2)
    worker = client_for(make_user())
    first = _claim(worker)
    _expire(first)
    second = _claim(worker)
    assert second != first


def test_late_submit_accepted_while_the_slot_is_free(make_user):
    _, [pair] = make_batch(1, overlap=1)
    worker = client_for(make_user())
    assignment_id = _claim(worker)
    _expire(assignment_id)
    assignment_expire_stale_task()
    response = submit(worker, assignment_id)
    assert response.status_code == 201
    pair.refresh_from_db()
    assert (pair.taken, submitted_count(pair)) == (1, 1)
    assert Assignment.objects.get(pk=assignment_id).status == "submitted"
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 204


def test_late_submit_refused_once_the_pair_was_reassigned(make_user):
    _, [pair] = make_batch(1, overlap=1)
    worker = client_for(make_user())
    assignment_id = _claim(worker)
    _expire(assignment_id)
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200
    response = submit(worker, assignment_id)
    assert response.status_code == 409
    assert response.json()["code"] == "assignment_reassigned"
    assert "reassigned" in response.json()["detail"]
    assert Annotation.objects.count() == 0
    pair.refresh_from_db()
    assert pair.taken == 1
