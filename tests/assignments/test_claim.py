"""Claiming the next pair: display order, resume, prefetch, K, priority, groups, 204."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch
from tests.assignments.workload import NEXT, client_for, make_batch, submit
from tests.factories import PairFactory

pytestmark = pytest.mark.django_db


def test_claim_speaks_left_and_right_only(make_user):
    batch, [pair] = make_batch(1, instructions="Watch both.", label_prompts=True)
    response = client_for(make_user()).post(NEXT, {}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "status",
        "claimed_at",
        "expires_at",
        "batch",
        "prompt",
        "ask_prompt_labels",
        "left",
        "right",
        "item",
        "question",
        "hint",
    }
    # classification only (a hint: a machine's verdict on a hinted item)
    assert body["item"] is None and body["question"] is None and body["hint"] is None
    assert body["batch"] == {
        "name": batch.name,
        "kind": "pairwise",
        "instructions": "Watch both.",
        "must_watch": True,
        "blur_videos": False,
        "label_prompts": True,
    }
    assert body["prompt"]["text"] == pair.prompt.text
    assert body["ask_prompt_labels"] is True
    raw = response.content.decode()
    for secret in ("video_0", "video_1", pair.video_0.video_id, pair.video_1.video_id, "gold"):
        assert secret not in raw
    assignment = Assignment.objects.get(pk=body["id"])
    left, right = (
        (pair.video_0, pair.video_1) if assignment.left_is_video_0 else (pair.video_1, pair.video_0)
    )
    assert body["left"]["video_url"] == f"/media/v/{left.uid}/video.mp4"
    assert body["right"]["video_url"] == f"/media/v/{right.uid}/video.mp4"
    assert body["left"]["duration_s"] == 2.0


def test_display_order_is_shuffled_per_assignment(make_user):
    _, pairs = make_batch(40, overlap=1)
    client = client_for(make_user())
    orders = set()
    for _ in pairs:
        assignment_id = client.post(NEXT, {}, format="json").json()["id"]
        orders.add(Assignment.objects.get(pk=assignment_id).left_is_video_0)
        assert submit(client, assignment_id).status_code == 201
    assert orders == {True, False}


def test_reload_resumes_the_open_assignment(make_user):
    make_batch(3)
    client = client_for(make_user())
    first = client.post(NEXT, {}, format="json").json()
    again = client.post(NEXT, {}, format="json").json()
    assert again["id"] == first["id"]
    assert Assignment.objects.count() == 1


@pytest.mark.parametrize("prompt_labels", [None, ["violence"]])
def test_new_claim_and_reload_show_the_same_pair(make_user, prompt_labels):
    # A new claim is presented from the claim statement's own row, a reload from the stored
    # models: the worker must see exactly the same thing either way.
    _, [pair] = make_batch(1, instructions="Look closely.", label_prompts=True)
    pair.prompt.prompt_labels = prompt_labels
    pair.prompt.save()
    pair.video_1.poster = "posters/v1.jpg"
    pair.video_1.duration_s = 3.5
    pair.video_1.save()
    client = client_for(make_user())
    claimed = client.post(NEXT, {}, format="json").json()
    resumed = client.post(NEXT, {}, format="json").json()
    detail = client.get(f"/api/v1/assignments/{claimed['id']}/").json()

    assert claimed == resumed == detail
    assert claimed["ask_prompt_labels"] is (prompt_labels is None)
    sides = {
        claimed["left"]["duration_s"]: claimed["left"],
        claimed["right"]["duration_s"]: claimed["right"],
    }
    assert sides[3.5]["poster_url"] == f"/media/v/{pair.video_1.uid}/poster.jpg"
    assert sides[2.0]["poster_url"] is None


def test_prefetch_gives_a_second_pair_and_never_a_third(make_user):
    _, pairs = make_batch(3)
    client = client_for(make_user())
    current = client.post(NEXT, {}, format="json").json()["id"]
    prefetched = client.post(NEXT, {"prefetch": True}, format="json").json()["id"]
    assert prefetched != current
    # Asking again (e.g. after a reload) yields the same two, oldest first.
    assert client.post(f"{NEXT}?prefetch=1", {}, format="json").json()["id"] == prefetched
    assert client.post(NEXT, {}, format="json").json()["id"] == current
    assert Assignment.objects.filter(status="open").count() == 2
    # After submitting the current one, the prefetched one becomes current.
    assert submit(client, current).status_code == 201
    assert client.post(NEXT, {}, format="json").json()["id"] == prefetched
    third = client.post(NEXT, {"prefetch": True}, format="json").json()["id"]
    assert third not in (current, prefetched)
    assert {a.pair_id for a in Assignment.objects.all()} == {p.pk for p in pairs}


def test_pair_gets_at_most_k_workers_then_204(make_user):
    _, [pair] = make_batch(1, overlap=2)
    for _ in range(2):
        assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200
    late = client_for(make_user()).post(NEXT, {}, format="json")
    assert late.status_code == 204
    pair.refresh_from_db()
    assert pair.taken == 2


def test_worker_never_gets_a_pair_twice_and_then_204(make_user):
    _, pairs = make_batch(3)
    client = client_for(make_user())
    seen = []
    while (response := client.post(NEXT, {}, format="json")).status_code == 200:
        seen.append(Assignment.objects.get(pk=response.json()["id"]).pair_id)
        assert submit(client, response.json()["id"]).status_code == 201
    assert response.status_code == 204
    assert sorted(seen) == sorted(p.pk for p in pairs)


def test_fewest_taken_first_and_higher_priority_batch_first(make_user):
    low, low_pairs = make_batch(2, priority=0)
    high, high_pairs = make_batch(2, priority=5)
    first = client_for(make_user()).post(NEXT, {}, format="json").json()
    assert first["batch"]["name"] == high.name
    # Another worker gets the other high-priority pair (0 taken) before the taken one.
    second = client_for(make_user()).post(NEXT, {}, format="json").json()
    pair_ids = {Assignment.objects.get(pk=x["id"]).pair_id for x in (first, second)}
    assert pair_ids == {p.pk for p in high_pairs}


def test_batch_filter_and_unknown_batch(make_user):
    make_batch(1, priority=9)
    other, _ = make_batch(1)
    client = client_for(make_user())
    assert client.post(NEXT, {"batch": other.name}, format="json").json()["batch"]["name"] == (
        other.name
    )
    missing = client.post(NEXT, {"batch": "no-such-batch"}, format="json")
    assert missing.status_code == 404
    assert "no-such-batch" in missing.json()["detail"]


def test_unpublished_batches_and_failed_pairs_are_not_served(make_user):
    make_batch(2, status=Batch.Status.PAUSED)
    make_batch(1, status=Batch.Status.DRAFT)
    batch, [pair] = make_batch(1)
    pair.active = False  # one of its videos failed to transcode
    pair.save()
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 204


def test_group_restricted_batch_only_reaches_its_groups(make_user):
    experts = Group.objects.create(name="experts")
    batch, _ = make_batch(1)
    batch.groups.add(experts)
    outsider, expert = make_user(), make_user()
    expert.groups.add(experts)
    assert client_for(outsider).post(NEXT, {}, format="json").status_code == 204
    assert client_for(outsider).post(NEXT, {"batch": batch.name}, format="json").status_code == (
        404
    )
    response = client_for(expert).post(NEXT, {}, format="json")
    assert response.status_code == 200 and response.json()["batch"]["name"] == batch.name


def test_only_annotators_claim(make_user):
    make_batch(1)
    reviewer = client_for(make_user("reviewer"))
    response = reviewer.post(NEXT, {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"]
    assert Assignment.objects.count() == 0
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200


def test_anonymous_gets_401_json(db):
    from rest_framework.test import APIClient

    response = APIClient().post(NEXT, {}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_me_reports_role_and_counts(make_user):
    make_batch(2)
    user = make_user()
    client = client_for(user)
    assignment_id = client.post(NEXT, {}, format="json").json()["id"]
    submit(client, assignment_id)
    client.post(NEXT, {}, format="json")
    body = client.get("/api/v1/me/").json()
    assert body["username"] == user.username
    assert body["role"] == "annotator"
    assert body["language"] == "en"
    assert body["counts"] == {"today": 1, "total": 1, "open": 1}


def test_pair_factory_batches_are_independent(make_user):
    # A pair of the same prompt in another, full batch does not block this one.
    batch, [pair] = make_batch(1, overlap=1)
    PairFactory(
        batch=make_batch(0, overlap=1)[0],
        prompt=pair.prompt,
        video_0=pair.video_0,
        video_1=pair.video_1,
        pair_id=pair.pair_id,
    )
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 204


def test_two_open_in_another_batch_block_a_third_claim(make_user):
    first, _ = make_batch(3, priority=5)
    other, _ = make_batch(1)
    client = client_for(make_user())
    client.post(NEXT, {}, format="json")
    client.post(NEXT, {"prefetch": True}, format="json")
    response = client.post(NEXT, {"batch": other.name}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_open"
    assert Assignment.objects.filter(batch=other).count() == 0
    assert Assignment.objects.filter(batch=first, status="open").count() == 2
