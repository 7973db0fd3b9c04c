"""A VLM machine annotator over a classification batch, against a local chat-completions
server through the real `openai` client: what is sent, what is stored, what it costs."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.core.jobs import job_execute
from annotation_server.machines.models import MachineRun
from annotation_server.machines.runs import KIND

from .chat_server import Reply, verdict

pytestmark = pytest.mark.django_db


def run_here(batch, annotator) -> MachineRun:
    run, _ = MachineRun.objects.get_or_create(batch=batch, annotator=annotator)
    if run.finished:
        MachineRun.objects.filter(pk=run.pk).update(status="pending")
    return job_execute(KIND, run.pk)


def verdicts(annotator) -> dict[str, ExternalAnnotation]:
    rows = ExternalAnnotation.objects.filter(
        source=f"machine:{annotator.name}", source_annotator=f"v{annotator.version}"
    ).select_related("pair")
    return {row.pair.prompt.text: row for row in rows}


def test_verdicts_are_stored_in_our_terms_with_usage_and_cost(
    make_batch, chat_server, make_annotator, api_key
):
    answers = {"item0": verdict(True, ["violence", "drugs"]), "item1": verdict(False, [])}
    server = chat_server(lambda body, key, nth: answers.get(key) or verdict(True, ["sexual"]))
    batch = make_batch(images=2, videos=1)
    annotator = make_annotator(server)

    run = run_here(batch, annotator)

    assert run.status == "succeeded", run.error
    stored = verdicts(annotator)
    assert {key: row.answer for key, row in stored.items()} == {
        "item0": {"harmful": True, "categories": ["violence", "drugs"]},
        "item1": {"harmful": False, "categories": []},
        "item2": {"harmful": True, "categories": ["sexual"]},
    }
    details = stored["item0"].details
    assert details["status"] == "ok" and details["attempts"] == 1
    assert details["model"] == "test-vlm" and details["reason"] == "seen"
    assert details["usage"] == {"prompt_tokens": 100, "completion_tokens": 20, "calls": 1}
    assert [m["role"] for m in details["transcript"]] == ["system", "user", "assistant"]
    assert stored["item0"].taxonomy_id == batch.taxonomy_id
    assert (run.done, run.unparseable, run.failed, run.requests) == (3, 0, 0, 3)
    assert (run.prompt_tokens, run.completion_tokens) == (300, 60)
    # 300 × 2.5 / 1M + 60 × 10 / 1M
    assert run.estimated_cost == Decimal("0.001350")


def test_the_request_carries_the_item_and_a_schema_built_from_the_taxonomy(
    make_batch, chat_server, make_annotator, api_key, media_root
):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    batch = make_batch(images=1, videos=1)
    annotator = make_annotator(server, temperature=0.5, max_tokens=321)

    run_here(batch, annotator)

    bodies = {key: body for _, key, body in server.requests}
    image = bodies["item0"]
    assert image["model"] == "test-vlm" and image["temperature"] == 0.5
    assert image["max_tokens"] == 321
    schema = image["response_format"]["json_schema"]["schema"]
    assert image["response_format"]["type"] == "json_schema"
    assert schema["properties"]["categories"]["items"]["enum"] == ["violence", "sexual", "drugs"]
    assert schema["required"] == ["harmful", "categories", "reason"]
    system = image["messages"][0]["content"]
    assert "violence: Violence — Fights, weapons." in system
    parts = image["messages"][1]["content"]
    urls = [part["image_url"]["url"] for part in parts if part["type"] == "image_url"]
    png = (media_root / "items" / "item0.png").read_bytes()
    assert urls == ["data:image/png;base64," + base64.b64encode(png).decode()]
    frames = [
        part["image_url"]["url"]
        for part in bodies["item1"]["messages"][1]["content"]
        if part["type"] == "image_url"
    ]
    assert len(frames) == 3 and len(set(frames)) == 3  # testsrc moves: three distinct frames
    for url in frames:
        assert url.startswith("data:image/jpeg;base64,")
        assert base64.b64decode(url.split(",", 1)[1])[:2] == b"\xff\xd8"  # a JPEG
    # The transcript keeps a note of each image, not its megabytes.
    stored = verdicts(annotator)["item1"].details["transcript"][1]["content"]
    assert stored[1]["image_url"]["url"].startswith("data:image/jpeg;base64,… (")


def test_malformed_output_is_retried_then_recorded_as_unparseable(
    make_batch, chat_server, make_annotator, api_key
):
    def script(body, key, nth):
        if key == "item0" and nth == 1:
            return Reply(content='{"harmful": tru')  # cut-off JSON, then a good one
        if key == "item1":
            return Reply(content=json.dumps({"harmful": True, "categories": ["gore"]}))
        return verdict(True, ["violence"])

    server = chat_server(script)
    batch = make_batch(images=2)
    annotator = make_annotator(server, max_attempts=3)

    run = run_here(batch, annotator)

    stored = verdicts(annotator)
    assert stored["item0"].answer == {"harmful": True, "categories": ["violence"]}
    assert stored["item0"].details["attempts"] == 2
    assert "not valid JSON" in stored["item0"].details["problems"][0]
    # The second request showed the model its reply and what was wrong with it.
    second = [body for _, key, body in server.requests if key == "item0"][1]
    assert second["messages"][2] == {"role": "assistant", "content": '{"harmful": tru'}
    assert "not valid JSON" in second["messages"][3]["content"]
    bad = stored["item1"]
    assert bad.answer == {"harmful": None, "categories": None}
    assert bad.details["status"] == "unparseable" and bad.details["attempts"] == 3
    assert "unknown keys: gore" in bad.details["problems"][-1]
    assert server.keys().count("item1") == 3
    assert (run.done, run.unparseable, run.requests) == (1, 1, 5)
    assert run.prompt_tokens == 500 and run.completion_tokens == 100


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(
    make_batch, chat_server, make_annotator, api_key
):
    def script(body, key, nth):
        if key == "item0" and nth == 1:
            return Reply(status=429, headers={"Retry-After": "1"})
        if key == "item1" and nth == 1:
            return Reply(status=500)
        return verdict(False, [])

    server = chat_server(script)
    batch = make_batch(images=2)
    annotator = make_annotator(server)

    run = run_here(batch, annotator)

    assert (run.done, run.failed) == (2, 0)
    times = [at for at, key, _ in server.requests if key == "item0"]
    assert len(times) == 2 and times[1] - times[0] >= 0.95  # waited what Retry-After said
    assert server.keys().count("item1") == 2
    # Only answered calls count: the refused ones used no tokens.
    assert run.requests == 2 and run.prompt_tokens == 200
    assert {row.details["attempts"] for row in verdicts(annotator).values()} == {1}


def test_a_run_started_again_calls_only_for_items_without_a_verdict(
    make_batch, chat_server, make_annotator, api_key
):
    down = {"item1"}

    def script(body, key, nth):
        return Reply(status=503) if key in down else verdict(True, ["drugs"])

    server = chat_server(script)
    batch = make_batch(images=3)
    annotator = make_annotator(server, transport_retries=1)

    first = run_here(batch, annotator)

    assert first.status == "succeeded"
    assert (first.done, first.failed) == (2, 1)
    assert sorted(verdicts(annotator)) == ["item0", "item2"]
    assert server.keys().count("item1") == 2  # the call and its one retry
    down.clear()

    again = run_here(batch, annotator)

    assert (again.done, again.failed, again.requests) == (3, 0, 3)
    assert sorted(server.keys()) == ["item0", "item1", "item1", "item1", "item2"]
    assert sorted(verdicts(annotator)) == ["item0", "item1", "item2"]


def test_a_new_version_gives_verdicts_of_its_own(make_batch, chat_server, make_annotator, api_key):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    batch = make_batch(images=1)
    first = make_annotator(server)
    assert make_annotator(server) == first  # the same configuration: no new version
    second = make_annotator(server, temperature=0.7)
    assert (first.version, second.version) == (1, 2)

    run_here(batch, first)
    run_here(batch, second)

    rows = ExternalAnnotation.objects.filter(source="machine:test-vlm")
    assert sorted(rows.values_list("source_annotator", flat=True)) == ["v1", "v2"]
    assert len(server.requests) == 2


def test_a_missing_key_fails_the_run_naming_the_variable(
    make_batch, chat_server, make_annotator, monkeypatch
):
    monkeypatch.delenv("MACHINE_TEST_KEY", raising=False)
    server = chat_server(lambda body, key, nth: verdict(False, []))
    run = run_here(make_batch(images=1), make_annotator(server))
    assert run.status == "failed"
    assert "MACHINE_TEST_KEY" in run.error and not server.requests


def test_a_refused_key_fails_the_run(make_batch, chat_server, make_annotator, api_key):
    server = chat_server(lambda body, key, nth: Reply(status=401))
    run = run_here(make_batch(images=5), make_annotator(server, concurrency=1))
    assert run.status == "failed" and "AuthenticationError" in run.error
    # No retries of a wrong key; at most the one call queued behind the first was made.
    assert server.keys() in (["item0"], ["item0", "item1"])
    assert not ExternalAnnotation.objects.exists()


def test_slow_replies_time_out_and_truncated_bodies_are_retried(
    make_batch, chat_server, make_annotator, api_key
):
    def script(body, key, nth):
        if key == "item0" and nth == 1:
            return verdict(True, ["violence"], delay_s=1.5)  # past the 0.5 s timeout
        if key == "item1" and nth == 1:
            return verdict(True, ["violence"], truncate=True)
        return verdict(False, [])

    server = chat_server(script)
    batch = make_batch(images=3)
    annotator = make_annotator(server, request_timeout_s=0.5)

    run = run_here(batch, annotator)

    assert (run.done, run.failed) == (3, 0)
    # The late and the cut-off replies were not taken: the retries' answers were.
    assert {key: row.answer["harmful"] for key, row in verdicts(annotator).items()} == {
        "item0": False, "item1": False, "item2": False,
    }  # fmt: skip
    assert sorted(server.keys()) == ["item0", "item0", "item1", "item1", "item2"]
    assert run.requests == 3  # calls that were answered


def test_a_run_spaces_its_calls_to_requests_per_minute(
    make_batch, chat_server, make_annotator, api_key
):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    annotator = make_annotator(server, requests_per_minute=300, concurrency=4)

    run_here(make_batch(images=4), annotator)

    times = sorted(at for at, _, _ in server.requests)
    assert len(times) == 4
    # 0.2 s apart when let through; their arrival here jitters with connections and load.
    assert times[-1] - times[0] > 0.5
