"""The debate kind: affirmative and negative debaters for R rounds, then a judge whose strict
JSON is the verdict; every turn in the transcript."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation

from .chat_server import Reply, verdict
from .test_vlm_run import run_here

pytestmark = pytest.mark.django_db


def role_of(body: dict) -> str:
    system = body["messages"][0]["content"]
    for role in ("affirmative", "negative"):
        if system.startswith(f"You are the {role} debater"):
            return role
    return "judge"


def test_a_debate_runs_its_rounds_then_the_judge_decides(
    make_batch, chat_server, make_annotator, api_key
):
    def script(body, key, nth):
        role = role_of(body)
        if role == "judge":
            if nth == 5:  # the judge's first reply is malformed: asked again
                return Reply(content="Yes, violence.")
            return verdict(True, ["violence"], reason="the affirmative side wins")
        assert "response_format" not in body  # debaters speak freely
        return Reply(content=f"{role} argument {nth}", completion_tokens=50)

    server = chat_server(script)
    batch = make_batch(images=0, videos=1)
    annotator = make_annotator(server, kind="debate", debate_rounds=2, frames_per_video=5)

    run = run_here(batch, annotator)

    assert run.status == "succeeded", run.error
    bodies = [body for _, _, body in server.requests]
    assert [role_of(body) for body in bodies] == [
        "affirmative", "negative", "affirmative", "negative", "judge", "judge",
    ]  # fmt: skip
    # Each turn sees the item (5 frames) and the debate so far.
    for body in bodies:
        images = [p for p in body["messages"][1]["content"] if p["type"] == "image_url"]
        assert len(images) == 5
    last_turn = bodies[3]["messages"][1]["content"][-1]["text"]
    assert "affirmative argument 1" in last_turn and "affirmative argument 3" in last_turn
    judge_text = bodies[4]["messages"][1]["content"][-1]["text"]
    assert "negative argument 4" in judge_text and "You are the judge" in judge_text
    enum = bodies[4]["response_format"]["json_schema"]["schema"]["properties"]["categories"]
    assert enum["items"]["enum"] == ["violence", "sexual", "drugs"]

    stored = ExternalAnnotation.objects.get(source="machine:test-vlm")
    assert stored.answer == {"harmful": True, "categories": ["violence"]}
    details = stored.details
    assert details["kind"] == "debate" and details["attempts"] == 2
    assert details["arguments"] == {
        "affirmative": ["affirmative argument 1", "affirmative argument 3"],
        "negative": ["negative argument 2", "negative argument 4"],
    }
    agents = [turn["agent"] for turn in details["transcript"]]
    assert agents[:4] == ["affirmative", "negative", "affirmative", "negative"]
    assert set(agents[4:]) == {"judge"}
    assert details["usage"] == {"prompt_tokens": 600, "completion_tokens": 240, "calls": 6}
    assert (run.requests, run.completion_tokens) == (6, 240)


def test_the_admin_shows_a_verdicts_turns_next_to_its_item(
    make_batch, chat_server, make_annotator, api_key, client, make_user
):
    def script(body, key, nth):
        if role_of(body) == "judge":
            return verdict(False, [], reason="the negative side wins")
        return Reply(content=f"{role_of(body)} says <b>{nth}</b>")

    server = chat_server(script)
    run_here(make_batch(images=1), make_annotator(server, kind="debate", debate_rounds=1))
    admin = make_user(roles.ADMIN)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    stored = ExternalAnnotation.objects.get()

    listing = client.get(reverse("admin:machines_machineverdict_changelist"))
    page = client.get(reverse("admin:machines_machineverdict_change", args=[stored.pk]))

    assert listing.status_code == 200 and "machine:test-vlm" in listing.content.decode()
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'<img src="[^"]*items/item0\.png"', html)
    assert "affirmative debater, round 1" in html and "negative debater, round 1" in html
    assert "affirmative says &lt;b&gt;1&lt;/b&gt;" in html  # escaped, not markup
    assert "the negative side wins" in html and "judge — assistant" in html


CRITIC = "You are the critic: say where the debate and the verdict went wrong."


def critic_role(body: dict) -> str:
    return "critic" if body["messages"][0]["content"] == CRITIC else role_of(body)


def test_a_critic_speaks_after_the_judge_and_its_text_is_kept(
    make_batch, chat_server, make_annotator, api_key
):
    def script(body, key, nth):
        role = critic_role(body)
        if role == "judge":
            return verdict(True, ["drugs"], reason="the affirmative side wins")
        return Reply(content=f"{role} says {nth}")

    server = chat_server(script)
    annotator = make_annotator(server, kind="debate", debate_rounds=1, critic_prompt=CRITIC)

    run = run_here(make_batch(images=1), annotator)

    assert run.status == "succeeded", run.error
    bodies = [body for _, _, body in server.requests]
    assert [critic_role(body) for body in bodies] == [
        "affirmative", "negative", "judge", "critic",
    ]  # fmt: skip
    critic_text = bodies[3]["messages"][1]["content"][-1]["text"]
    assert "affirmative says 1" in critic_text and "negative says 2" in critic_text
    assert '"harmful": true' in critic_text and "the affirmative side wins" in critic_text
    assert "response_format" not in bodies[3]  # it speaks freely and changes no verdict
    stored = ExternalAnnotation.objects.get()
    assert stored.answer == {"harmful": True, "categories": ["drugs"]}
    transcript = stored.details["transcript"]
    assert [turn["agent"] for turn in transcript] == [
        "affirmative", "negative", "judge", "judge", "judge", "critic",
    ]  # fmt: skip
    assert transcript[-1]["content"] == "critic says 4"
    assert stored.details["critic"] == "critic says 4"
    assert stored.details["usage"]["calls"] == 4 and run.requests == 4


def test_without_a_critic_prompt_no_critic_is_called(
    make_batch, chat_server, make_annotator, api_key
):
    def script(body, key, nth):
        if critic_role(body) == "judge":
            return verdict(False, [])
        return Reply(content="an argument")

    server = chat_server(script)
    annotator = make_annotator(server, kind="debate", debate_rounds=1)

    run_here(make_batch(images=2), annotator)

    roles = [critic_role(body) for _, _, body in server.requests]
    assert sorted(roles) == ["affirmative"] * 2 + ["judge"] * 2 + ["negative"] * 2
    for stored in ExternalAnnotation.objects.all():
        assert "critic" not in stored.details
        assert "critic" not in {turn["agent"] for turn in stored.details["transcript"]}
