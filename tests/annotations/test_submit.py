"""Submitting: left/right mapping, validation, idempotency, ownership, prompt labels."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F

from annotation_server.annotations import services
from annotation_server.annotations.apis import SubmitInputSerializer
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from tests.assignments.workload import NEXT, answers, client_for, make_batch, submit
from tests.factories import submitted_count

pytestmark = pytest.mark.django_db


def _claim(client, **filters) -> Assignment:
    response = client.post(NEXT, filters, format="json")
    assert response.status_code == 200
    return Assignment.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize("left_is_video_0", [True, False])
def test_left_right_answers_are_stored_as_video_0_video_1(make_user, left_is_video_0):
    make_batch(1)
    worker = client_for(make_user())
    assignment = _claim(worker)
    Assignment.objects.filter(pk=assignment.pk).update(left_is_video_0=left_is_video_0)
    response = submit(worker, str(assignment.pk))
    assert response.status_code == 201
    assert response.json() == {"id": str(assignment.pk), "status": "submitted"}

    left, right = ("video_0", "video_1") if left_is_video_0 else ("video_1", "video_0")
    stored = Annotation.objects.get()
    assert stored.pref_instruction_following == left
    assert stored.pref_correctness == right
    assert stored.helpfulness == left and stored.harmlessness == right
    assert getattr(stored, f"{left}_harms") == ["violence"]
    assert getattr(stored, f"{right}_harms") == []
    assert stored.left_is_video_0 is left_is_video_0
    assert (stored.stage1_ms, stored.stage2_ms) == (41000, 6000)
    assert stored.server_duration_ms >= 0
    assert stored.prompt_harms is None and stored.is_gold is False and stored.gold_score is None
    assignment.refresh_from_db()
    assert assignment.status == "submitted" and assignment.finished_at is not None
    assignment.pair.refresh_from_db()
    assert (assignment.pair.taken, submitted_count(assignment.pair)) == (1, 1)


@pytest.mark.parametrize("left_is_video_0", [True, False])
def test_submit_returns_exactly_what_it_stored(make_user, left_is_video_0):
    # The everyday submit is one SQL statement on PostgreSQL; what the service hands back
    # (and what the API answers from) must be the stored row, field for field.
    make_batch(1)
    user = make_user()
    assignment = _claim(client_for(user))
    Assignment.objects.filter(pk=assignment.pk).update(
        left_is_video_0=left_is_video_0, claimed_at=F("claimed_at") - dt.timedelta(seconds=90)
    )
    valid = SubmitInputSerializer(data=answers())
    assert valid.is_valid(), valid.errors
    annotation, created = services.annotation_submit(
        annotator=user, assignment_id=assignment.pk, answers=valid.validated_data
    )
    stored = Annotation.objects.get()
    assert created and annotation.pk == stored.pk
    for field in Annotation._meta.concrete_fields:
        assert getattr(annotation, field.attname) == getattr(stored, field.attname), field.name
    assert 90_000 <= stored.server_duration_ms < 120_000  # claim → submit, measured by the server


def test_same_submit_twice_stores_one_annotation(make_user):
    make_batch(1)
    worker = client_for(make_user())
    assignment = _claim(worker)
    first = submit(worker, str(assignment.pk))
    again = submit(worker, str(assignment.pk), answers(timings={"stage1_ms": 1}))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Annotation.objects.count() == 1
    assert submitted_count(assignment.pair) == 1


def test_different_answers_after_submit_are_refused(make_user):
    make_batch(1)
    worker = client_for(make_user())
    assignment = _claim(worker)
    submit(worker, str(assignment.pk))
    response = submit(worker, str(assignment.pk), answers(helpfulness="right"))
    assert response.status_code == 409
    assert response.json()["code"] == "already_submitted"
    assert "different answers" in response.json()["detail"]
    assert Annotation.objects.get().helpfulness == Annotation.objects.get().pref_aesthetics


def test_someone_elses_assignment_is_404_and_untouched(make_user):
    make_batch(1)
    owner, intruder = client_for(make_user()), client_for(make_user())
    assignment = _claim(owner)
    for response in (
        submit(intruder, str(assignment.pk)),
        intruder.get(f"/api/v1/assignments/{assignment.pk}/"),
        intruder.post(
            f"/api/v1/assignments/{assignment.pk}/skip/", {"reason": "other"}, format="json"
        ),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "assignment_not_found"
    assert Annotation.objects.count() == 0
    assignment.refresh_from_db()
    assert assignment.status == "open"
    assert owner.get(f"/api/v1/assignments/{assignment.pk}/").json()["id"] == str(assignment.pk)


def test_malformed_assignment_id_is_a_json_404(make_user):
    response = submit(client_for(make_user()), "not-a-uuid")
    assert response.status_code == 404
    assert response.json()["code"] == "assignment_not_found"


@pytest.mark.parametrize(
    ("body", "field_path"),
    [
        (
            answers(
                sub_preferences={
                    "instruction_following": "left",
                    "correctness": "right",
                    "information": "left",
                }
            ),
            ("sub_preferences", "aesthetics"),
        ),
        (
            answers(
                sub_preferences={
                    "instruction_following": "left",
                    "correctness": "middle",
                    "information": "left",
                    "aesthetics": "left",
                }
            ),
            ("sub_preferences", "correctness"),
        ),
        (
            answers(harm_labels={"left": ["violence", "spooky"], "right": []}),
            ("harm_labels", "left"),
        ),
        (answers(harm_labels={"left": []}), ("harm_labels", "right")),
        (answers(helpfulness=None), ("helpfulness",)),
        (answers(harmlessness="both"), ("harmlessness",)),
        (answers(timings={"stage1_ms": -5}), ("timings", "stage1_ms")),
        ({k: v for k, v in answers().items() if k != "harmlessness"}, ("harmlessness",)),
    ],
)
def test_invalid_submit_names_the_field_and_stores_nothing(make_user, body, field_path):
    make_batch(1)
    worker = client_for(make_user())
    assignment = _claim(worker)
    response = submit(worker, str(assignment.pk), body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid"
    errors = payload["errors"]
    for key in field_path:
        assert key in errors, payload
        errors = errors[key]
    assert Annotation.objects.count() == 0
    assignment.refresh_from_db()
    assert assignment.status == "open"
    # The worker can still fix the answers and submit.
    assert submit(worker, str(assignment.pk)).status_code == 201


def test_prompt_labels_required_when_the_batch_asks(make_user):
    make_batch(1, label_prompts=True)
    worker = client_for(make_user())
    assignment = _claim(worker)
    missing = submit(worker, str(assignment.pk))
    assert missing.status_code == 400
    assert "prompt_harm_labels" in missing.json()["errors"]
    done = submit(
        worker, str(assignment.pk), answers(prompt_harm_labels=["crime", "violence", "crime"])
    )
    assert done.status_code == 201
    assert Annotation.objects.get().prompt_harms == ["crime", "violence"]


def test_prompt_labels_not_stored_when_not_asked(make_user):
    _, [pair] = make_batch(1, label_prompts=True)
    pair.prompt.prompt_labels = {"crime": True}  # the dataset already labelled this prompt
    pair.prompt.save()
    worker = client_for(make_user())
    body = worker.post(NEXT, {}, format="json").json()
    assert body["ask_prompt_labels"] is False
    assert submit(worker, body["id"], answers(prompt_harm_labels=["porn"])).status_code == 201
    assert Annotation.objects.get().prompt_harms is None
