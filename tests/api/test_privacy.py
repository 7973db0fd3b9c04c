"""What one annotator may see through the API: only their own work, never gold answers."""

from __future__ import annotations

import pytest

from annotation_server.annotations.services import pair_mark_gold
from annotation_server.assignments.models import Assignment
from tests.assignments.workload import NEXT, answers, client_for, make_batch
from tests.factories import PairFactory

pytestmark = pytest.mark.django_db


def test_another_annotators_assignment_is_invisible_on_every_endpoint(make_user):
    make_batch(2)
    owner, other = client_for(make_user()), client_for(make_user())
    mine = owner.post(NEXT, {}, format="json").json()["id"]
    base = f"/api/v1/assignments/{mine}"
    attempts = [
        other.get(f"{base}/"),
        other.post(f"{base}/submit/", answers(), format="json"),
        other.post(f"{base}/skip/", {"reason": "other"}, format="json"),
        other.post(f"{base}/report/", {"reason": "other"}, format="json"),
    ]
    for response in attempts:
        assert response.status_code == 404
        assert response.json() == {
            "detail": "No such assignment of yours.",
            "code": "assignment_not_found",
        }
    assert Assignment.objects.get(pk=mine).status == "open"
    # The other worker's own claim is a different pair, never the owner's assignment.
    theirs = other.post(NEXT, {}, format="json").json()["id"]
    assert theirs != mine


def test_gold_answers_never_reach_the_browser(make_user):
    batch, _ = make_batch(1, gold_rate=1.0)
    gold = PairFactory(batch=batch)
    pair_mark_gold(pair=gold, answer={"helpfulness": "video_1", "video_0_harms": ["crime"]})
    worker = client_for(make_user())
    claimed = worker.post(NEXT, {}, format="json")
    assert Assignment.objects.get(pk=claimed.json()["id"]).is_gold
    bodies = [
        claimed,
        worker.get(f"/api/v1/assignments/{claimed.json()['id']}/"),
        worker.post(
            f"/api/v1/assignments/{claimed.json()['id']}/submit/", answers(), format="json"
        ),
        worker.get("/api/v1/me/"),
    ]
    for response in bodies:
        text = response.content.decode()
        assert response.status_code in (200, 201)
        for leak in ("gold", "video_0", "video_1", "crime", "score", "taken"):
            assert leak not in text, (leak, text)
    schema = worker.get("/api/schema/").content.decode()
    assert "gold" not in schema and "left_is_video_0" not in schema
