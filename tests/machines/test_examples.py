"""In-context examples: labelled pictures under MEDIA_ROOT sent as user/assistant turns before
the item (to a VLM, to a debate's judge); paths leading out of MEDIA_ROOT refused."""

from __future__ import annotations

import base64
import json
import os

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.core.exceptions import ApplicationError
from annotation_server.machines.admin import ANNOTATOR_FIELDSETS
from annotation_server.machines.annotators import CONFIG_FIELDS
from annotation_server.machines.runs import machine_run_start

from .chat_server import Reply, verdict
from .test_debate import role_of
from .test_vlm_run import run_here

pytestmark = pytest.mark.django_db


@pytest.fixture
def icl(media_root):
    """Three example pictures under MEDIA_ROOT/icl: a JPEG image and two PNG frames."""
    folder = media_root / "icl"
    folder.mkdir(parents=True)
    Image.new("RGB", (16, 16), (200, 0, 0)).save(folder / "smoking.jpg")
    for n in (1, 2):
        Image.new("RGB", (16, 16), (0, n * 100, 0)).save(folder / f"frame{n}.png")
    return folder


EXAMPLES = [
    {
        "image": "icl/smoking.jpg",
        "answer": {"harmful": True, "categories": ["drugs"], "reason": "smoking scene"},
    },
    {
        "frames": ["icl/frame1.png", "icl/frame2.png"],
        "answer": {"harmful": False, "categories": [], "reason": "educational content"},
    },
]


def url_of(path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def images_of(message: dict) -> list[str]:
    return [p["image_url"]["url"] for p in message["content"] if p["type"] == "image_url"]


def test_a_vlm_is_shown_the_examples_and_their_answers_before_the_item(
    make_batch, chat_server, make_annotator, api_key, icl
):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    batch = make_batch(images=1)
    annotator = make_annotator(server, examples=EXAMPLES)

    run = run_here(batch, annotator)

    assert run.status == "succeeded", run.error
    (body,) = [body for _, _, body in server.requests]
    messages = body["messages"]
    assert [m["role"] for m in messages] == [
        "system", "user", "assistant", "user", "assistant", "user",
    ]  # fmt: skip
    assert images_of(messages[1]) == [url_of(icl / "smoking.jpg", "image/jpeg")]
    assert json.loads(messages[2]["content"]) == {
        "harmful": True, "categories": ["drugs"], "reason": "smoking scene",
    }  # fmt: skip
    assert images_of(messages[3]) == [
        url_of(icl / "frame1.png", "image/png"), url_of(icl / "frame2.png", "image/png"),
    ]  # fmt: skip
    assert json.loads(messages[4]["content"])["reason"] == "educational content"
    # The item comes last, after every example.
    assert "generated from this prompt: item0" in messages[5]["content"][0]["text"]
    item = (icl.parent / "items" / "item0.png").read_bytes()
    assert images_of(messages[5]) == ["data:image/png;base64," + base64.b64encode(item).decode()]
    roles_kept = [m["role"] for m in ExternalAnnotation.objects.get().details["transcript"]]
    assert roles_kept == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]


def test_an_example_answers_only_what_the_batch_asks(
    make_batch, chat_server, make_annotator, api_key, icl
):
    server = chat_server(lambda body, key, nth: Reply(content='{"harmful": false, "reason": ""}'))
    batch = make_batch(images=1)
    batch.ask_categories = False
    batch.save()

    run_here(batch, make_annotator(server, examples=EXAMPLES[:1]))

    messages = server.requests[0][2]["messages"]
    assert json.loads(messages[2]["content"]) == {"harmful": True, "reason": "smoking scene"}


def test_a_debates_judge_is_shown_the_examples_and_the_debaters_are_not(
    make_batch, chat_server, make_annotator, api_key, icl
):
    def script(body, key, nth):
        if role_of(body) == "judge":
            return verdict(True, ["drugs"])
        return Reply(content="an argument")

    server = chat_server(script)
    annotator = make_annotator(server, kind="debate", debate_rounds=1, examples=EXAMPLES[:1])

    run_here(make_batch(images=1), annotator)

    by_role = {role_of(body): body["messages"] for _, _, body in server.requests}
    assert [m["role"] for m in by_role["judge"]] == ["system", "user", "assistant", "user"]
    assert images_of(by_role["judge"][1]) == [url_of(icl / "smoking.jpg", "image/jpeg")]
    for debater in ("affirmative", "negative"):
        assert [m["role"] for m in by_role[debater]] == ["system", "user"]


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("../outside.jpg", "leaves MEDIA_ROOT"),
        ("icl/../../outside.jpg", "leaves MEDIA_ROOT"),
        ("/etc/passwd", "is absolute"),
        ("icl/escape.jpg", "leads out of MEDIA_ROOT (a symbolic link)"),
        ("icl/missing.jpg", "is not a file under MEDIA_ROOT"),
    ],
)
def test_a_path_leading_out_of_media_root_is_refused(
    chat_server, make_annotator, icl, tmp_path, path, said
):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((icl / "smoking.jpg").read_bytes())
    os.symlink(outside, icl / "escape.jpg")  # a link inside MEDIA_ROOT to a file outside it
    server = chat_server(lambda body, key, nth: verdict(False, []))
    bad = [{"image": path, "answer": EXAMPLES[0]["answer"]}]

    with pytest.raises(ValidationError) as refused:
        make_annotator(server, examples=bad)

    assert f"example 1: {path!r} {said}" in str(refused.value.message_dict["examples"])


def test_malformed_examples_are_refused_saying_what_is_wrong(chat_server, make_annotator, icl):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    bad = [
        {"image": "icl/smoking.jpg", "frames": ["icl/frame1.png"], "answer": {}},
        {"frames": [], "answer": {"harmful": False, "categories": ["drugs"], "reason": ""}},
    ]

    with pytest.raises(ValidationError) as refused:
        make_annotator(server, examples=bad)

    text = str(refused.value.message_dict["examples"])
    assert 'example 1: give either "image" or "frames"' in text
    assert 'example 1: "answer.harmful" must be a bool' in text
    assert 'example 2: "frames" is a non-empty list of paths' in text
    assert "example 2: a harmless example shows no categories" in text


def test_a_changed_example_list_is_a_new_version(chat_server, make_annotator, icl):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    first = make_annotator(server, examples=EXAMPLES[:1])
    assert make_annotator(server, examples=EXAMPLES[:1]) == first
    second = make_annotator(server, examples=EXAMPLES)
    assert (first.version, second.version) == (1, 2)
    assert second.examples == EXAMPLES


def test_examples_with_categories_the_taxonomy_lacks_do_not_start(
    make_batch, chat_server, make_annotator, icl
):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    answer = {"harmful": True, "categories": ["gambling"], "reason": "a casino"}
    annotator = make_annotator(server, examples=[{"image": "icl/smoking.jpg", "answer": answer}])

    with pytest.raises(ApplicationError, match="categories the taxonomy lacks: gambling"):
        machine_run_start(batch=make_batch(images=1), annotator=annotator)
    assert not server.requests


def test_the_admin_form_shows_every_setting_in_its_fieldsets(client, make_user):
    listed = [name for _, options in ANNOTATOR_FIELDSETS for name in options["fields"]]
    assert sorted(listed) == sorted({"name", "version", *CONFIG_FIELDS})
    admin = make_user(roles.ADMIN)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)

    page = client.get(reverse("admin:machines_machineannotator_add"))

    html = page.content.decode()
    assert page.status_code == 200
    for name in ("tokens_per_minute", "endpoint_concurrency", "critic_prompt", "examples"):
        assert f'name="{name}"' in html
    assert "Limits (requests, tokens and calls at once" in html
