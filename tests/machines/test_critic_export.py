"""A machine debate's critic reaches the VHD11K export's `critic` column through
`--arguments-from`, as the release's own critic does."""

from __future__ import annotations

import csv
from io import StringIO

import pytest
from django.core.management import call_command

from annotation_server.batches.models import Pair
from tests.exports.classifying import classify

from .chat_server import Reply, verdict
from .test_debate import CRITIC, critic_role
from .test_vlm_run import run_here

pytestmark = pytest.mark.django_db


def test_the_critics_text_is_the_vhd11k_critic_column(
    make_batch, chat_server, make_annotator, api_key, make_user, tmp_path
):
    def script(body, key, nth):
        role = critic_role(body)
        if role == "judge":
            return verdict(True, ["violence"])
        return Reply(content=f"{role} on {key}")

    server = chat_server(script)
    batch = make_batch(images=1)
    run_here(batch, make_annotator(server, kind="debate", debate_rounds=2, critic_prompt=CRITIC))
    unit = Pair.objects.get(batch=batch)
    for worker in (make_user(), make_user()):
        classify(unit, worker, harmful=True, categories=["violence"])

    call_command(
        "export_safesora", "--out", str(tmp_path / "o"), "--kind", "vhd11k",
        "--batch", batch.name, "--arguments-from", "machine:test-vlm",
        stdout=StringIO(), verbosity=0,
    )  # fmt: skip

    (ann,) = (tmp_path / "o").glob("harmful_image_*_ann.csv")
    (row,) = csv.DictReader(ann.read_text(encoding="utf-8").splitlines())
    assert row["critic"] == "critic on item0"
    assert row["affirmativeDebater_argument_0"] == "affirmative on item0"
    assert row["negativeDebater_argument_1"] == "negative on item0"
