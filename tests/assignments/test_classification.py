"""A classification batch goes through the same claim and submit services as pairs: one item
per task with its batch's question, overlap K, never the same worker twice, idempotent
submits, answers checked against the question and kept in the taxonomy version used."""

from __future__ import annotations

import pytest

from annotation_server.annotations.models import Annotation
from annotation_server.annotations.services import pair_mark_gold
from annotation_server.batches.models import Batch
from annotation_server.catalog.taxonomy_data import taxonomy_save
from tests.assignments.workload import NEXT, client_for, make_items

pytestmark = pytest.mark.django_db


def submit_url(body) -> str:
    return f"/api/v1/assignments/{body['id']}/submit/"


def test_an_item_is_shown_with_its_question_and_no_ids(make_user):
    make_items(1, ask_reason=True)
    body = client_for(make_user()).post(NEXT, {}, format="json").json()

    assert body["batch"]["kind"] == "classification"
    assert body["left"] is None and body["right"] is None and body["prompt"] is None
    assert body["item"]["media_type"] == "image" and body["item"]["video_url"]
    question = body["question"]
    assert question["ask_harmful"] and question["ask_categories"] and question["ask_reason"]
    assert question["taxonomy"]["name"] == "safesora"
    assert [c["key"] for c in question["taxonomy"]["categories"]][:2] == ["porn", "animal_abuse"]
    assert question["taxonomy"]["categories"][0]["label_zh"]


def test_overlap_and_never_twice(make_user):
    batch, [item] = make_items(1, overlap=2)
    workers = [make_user() for _ in range(3)]
    got = [client_for(w).post(NEXT, {}, format="json") for w in workers]
    assert [r.status_code for r in got] == [200, 200, 204]  # K = 2
    first = client_for(workers[0])
    assert first.post(submit_url(got[0].json()), {"harmful": False, "categories": []},
                      format="json").status_code == 201  # fmt: skip
    assert first.post(NEXT, {}, format="json").status_code == 204  # never the same item again


def test_submit_is_checked_against_the_question_and_idempotent(make_user):
    batch, [item] = make_items(1, ask_confidence=True)
    client = client_for(make_user())
    body = client.post(NEXT, {}, format="json").json()
    url = submit_url(body)

    missing = client.post(url, {"categories": ["violence"]}, format="json")
    assert missing.status_code == 400 and "harmful" in missing.json()["errors"]
    unknown = client.post(url, {"harmful": True, "categories": ["nope"]}, format="json")
    assert unknown.status_code == 400 and "nope" in str(unknown.json())
    contradiction = client.post(url, {"harmful": False, "categories": ["crime"]}, format="json")
    assert contradiction.status_code == 400
    pairwise = client.post(
        url,
        {"sub_preferences": {k: "left" for k in ("instruction_following", "correctness",
                                                  "information", "aesthetics")},
         "harm_labels": {"left": [], "right": []}, "helpfulness": "left", "harmlessness": "left"},
        format="json",
    )  # fmt: skip
    assert pairwise.status_code == 400 and "classification item" in pairwise.json()["detail"]
    assert not Annotation.objects.exists()

    answer = {"harmful": True, "categories": ["violence", "crime"], "confidence": 4}
    assert client.post(url, answer, format="json").status_code == 201
    assert client.post(url, answer, format="json").status_code == 200  # the same again
    changed = client.post(url, {**answer, "harmful": False, "categories": []}, format="json")
    assert changed.status_code == 409
    stored = Annotation.objects.get()
    assert (stored.harmful, stored.categories, stored.confidence) == (
        True,
        ["crime", "violence"],
        4,
    )
    assert stored.taxonomy == batch.taxonomy and stored.helpfulness is None
    assert stored.reason == ""  # not asked: not stored


def test_answers_keep_their_taxonomy_version_when_it_changes(make_user):
    custom, _ = taxonomy_save(
        {"name": "team_harms", "categories": [{"key": "gore", "label_en": "Gore"}]}
    )
    batch, [item] = make_items(1)
    Batch.objects.filter(pk=batch.pk).update(taxonomy=custom)
    client = client_for(make_user())
    body = client.post(NEXT, {}, format="json").json()
    assert [c["key"] for c in body["question"]["taxonomy"]["categories"]] == ["gore"]
    assert client.post(submit_url(body), {"harmful": True, "categories": ["gore"]},
                       format="json").status_code == 201  # fmt: skip

    newer, created = taxonomy_save(
        {"name": "team_harms", "categories": [{"key": "blood", "label_en": "Blood"}]}
    )
    assert created and newer.version == 2
    assert taxonomy_save({"name": "team_harms", "categories": newer.categories})[1] is False
    stored = Annotation.objects.get()
    assert stored.taxonomy_id == custom.pk and stored.categories == ["gore"]


def test_gold_items_are_scored(make_user):
    batch, [regular, gold] = make_items(2, gold_rate=1.0, overlap=1)
    pair_mark_gold(pair=gold, answer={"harmful": True, "categories": ["violence"]})
    with pytest.raises(Exception, match="unknown keys"):
        pair_mark_gold(pair=regular, answer={"harmful": True, "helpfulness": "video_0"})
    client = client_for(make_user())
    body = client.post(NEXT, {}, format="json").json()
    assert "gold" not in str(body)
    client.post(submit_url(body), {"harmful": True, "categories": []}, format="json")
    stored = Annotation.objects.get()
    assert stored.is_gold and stored.gold_score == 0.5
