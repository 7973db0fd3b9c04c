"""The Django side of the worker app: who may open it and what the page hands the app."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from annotation_server import taxonomy
from annotation_server.batches import lifecycle
from annotation_server.batches.models import Batch
from annotation_server.workspace.messages import MESSAGES, REPORT_REASONS
from tests.factories import BatchFactory, PairFactory

pytestmark = pytest.mark.django_db


def _config(response) -> dict:
    match = re.search(
        r'<script id="app-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page carries the app's configuration"
    return json.loads(match.group(1))


def test_work_pages_need_a_login(client):
    for url in ("/work/", "/work/task/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_reviewers_are_told_the_app_is_for_annotators(client, make_user):
    client.force_login(make_user("reviewer"))
    response = client.get("/work/")
    assert response.status_code == 403
    assert b"This page is for annotators" in response.content


def test_page_hands_the_app_taxonomy_counts_and_only_own_batches(client, make_user):
    worker = make_user("annotator")
    BatchFactory(name="open-to-all", instructions="Watch both clips fully.", priority=5)
    closed = BatchFactory(name="other-team", instructions="Secret team notes")
    closed.groups.add(Group.objects.create(name="team-b"))
    BatchFactory(name="draft-batch", status=Batch.Status.DRAFT, instructions="Not yet")
    PairFactory(
        batch=Batch.objects.get(name="open-to-all"),
        is_gold=True,
        gold_answer={"helpfulness": "video_1"},
    )
    client.force_login(worker)

    for url, view in (("/work/", "workspace"), ("/work/task/", "task")):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("max-age=0")
        config = _config(response)
        assert config["view"] == view
    assert [h["key"] for h in config["harms"]] == list(taxonomy.HARM_KEYS)
    assert config["harms"][7]["description"] == taxonomy.HARM_BY_KEY["violence"].description_en
    assert [d["key"] for d in config["dimensions"]] == list(taxonomy.SUB_DIMENSION_KEYS)
    assert config["batches"] == [{"name": "open-to-all", "instructions": "Watch both clips fully."}]
    assert config["counts"] == {"today": 0, "total": 0}
    assert config["username"] == worker.username
    assert "video_1" not in response.content.decode()  # gold answers stay on the server
    assert {r["key"] for r in config["reasons"]} == set(REPORT_REASONS)
    assert config["entry"] is None  # no study link: the app makes no entry requests


def test_study_worker_page_names_the_study_batch_and_where_to_finish(client, make_user):
    BatchFactory(name="open-to-all", instructions="Everyone's work.", priority=5)
    study = BatchFactory(name="study", instructions="The study's clips.")
    PairFactory(batch=study)
    lifecycle.batch_entry_configure(
        batch=study, actor=None, enabled=True, pairs_required=2, completion_code="C0DE42"
    )
    client.get(
        f"/entry/prolific/{study.entry_token}/", {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e"}
    )

    config = _config(client.get("/work/"))
    assert config["entry"] == {
        "batch": "study",
        "submitted": 0,
        "required": 2,
        "complete": False,
        "status_url": "/api/v1/entry/status/",
        "finish_url": "/entry/complete/",
    }
    assert config["batches"] == [{"name": "study", "instructions": "The study's clips."}]


def test_chinese_page_uses_the_catalogue_and_the_taxonomy(client, make_user):
    client.force_login(make_user("annotator"))
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/work/"})
    response = client.get("/work/")
    config = _config(response)
    assert config["lang"] == "zh-hans"
    assert '<html lang="zh-hans">' in response.content.decode()
    assert config["messages"]["start"] == "开始标注"
    assert config["harms"][0]["label"] == taxonomy.HARM_CATEGORIES[0].label_zh
    assert config["dimensions"][0]["description"] == taxonomy.SUB_DIMENSIONS[0].description_zh


def test_every_app_string_has_a_chinese_translation():
    with translation.override("en"):
        english = {key: str(text) for key, text in {**MESSAGES, **REPORT_REASONS}.items()}
    with translation.override("zh-hans"):
        untranslated = [
            k for k, t in {**MESSAGES, **REPORT_REASONS}.items() if str(t) == english[k]
        ]
    assert untranslated == []
    # Placeholders the app fills in survive translation.
    with translation.override("zh-hans"):
        for key, text in MESSAGES.items():
            assert set(re.findall(r"\{\w+\}", str(text))) == set(
                re.findall(r"\{\w+\}", english[key])
            ), key
