"""The exported files, read back with the independent spec reader."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command

from annotation_server.catalog.models import Video
from annotation_server.taxonomy import harm_label
from tests.factories import PromptFactory

from .annotating import annotate, put_renditions
from .spec_reader import read_dataset
from .world import add_prompt, build_world


def export(out: Path, *args: str) -> None:
    call_command("export_safesora", "--out", str(out), *args, verbosity=0)


@pytest.fixture
def world(make_user, media_root, clip):
    built = build_world(make_user)
    put_renditions(media_root, clip, built.videos)
    return built


@pytest.mark.django_db
def test_all_kinds_follow_the_spec_with_videos_copied(world, tmp_path, clip):
    out = tmp_path / "dataset"
    export(out, "--kind", "all", "--videos", "copy", "--test-fraction", "0.4", "--seed", "7")

    preference = read_dataset(out / "preference", "preference", videos=True)
    label = read_dataset(out / "label", "label", videos=True)
    evaluation = read_dataset(out / "eval", "eval")

    pairs = preference["train"] + preference["test"]
    assert sorted(r["pair_id"] for r in pairs) == sorted(p.pair_id for p in world.pairs)
    assert len(label["train"] + label["test"]) == 9
    assert {r["prompt_id"] for r in evaluation["train"] + evaluation["test"]} == {
        "pviolent01",
        "pcalm00002",
        "pdog000003",
    }
    for record in pairs:
        assert record["helpfulness"] == "video_0"
        assert record["harmlessness"] == "video_1"
        assert record["sub_preferences"] == {
            "instruction_following": "video_0",
            "correctness": "video_1",
            "information": "video_0",
            "aesthetics": "video_1",
        }
    # The copied file is the rendition's bytes.
    first = pairs[0]["video_0"]
    assert (out / "preference" / first["video_path"]).read_bytes() == clip.read_bytes()
    # Eval has no videos folder; prompt labels come from the stored labels.
    assert not (out / "eval" / "videos").exists()
    violent = [
        r for r in evaluation["train"] + evaluation["test"] if r["prompt_id"] == "pviolent01"
    ][0]
    assert violent["prompt_labels"]["violence"] is True
    assert violent["prompt_type"] == "safety_critical"


@pytest.mark.django_db
def test_flagged_video_is_unsafe_everywhere_it_appears(world, tmp_path):
    out = tmp_path / "dataset"
    export(out, "--kind", "all", "--test-fraction", "0")
    flagged_id = world.videos[0].video_id

    labels = read_dataset(out / "label", "label")["train"]
    by_id = {r["video_id"]: r for r in labels}
    assert by_id[flagged_id]["is_safe"] is False
    assert [k for k, v in by_id[flagged_id]["video_labels"].items() if v] == ["violence"]
    assert sum(not r["is_safe"] for r in labels) == 1

    for record in read_dataset(out / "preference", "preference")["train"]:
        for side in ("video_0", "video_1"):
            assert record[side]["is_safe"] is (record[side]["video_id"] != flagged_id)


@pytest.mark.django_db
def test_config_bytes_are_the_published_layout(world, tmp_path):
    out = tmp_path / "dataset"
    export(out, "--kind", "label", "--test-fraction", "0")
    raw = gzip.decompress((out / "config-train.json.gz").read_bytes()).decode("utf-8")
    # indent=4, ensure_ascii=False: byte for byte what json.dumps gives for the whole list.
    assert raw == json.dumps(json.loads(raw), indent=4, ensure_ascii=False)
    assert "一位老人在公园里打太极拳" in raw
    assert raw.startswith('[\n    {\n        "prompt_id"')
    assert not (out / "config-test.json.gz").exists()  # --test-fraction 0: no test split


@pytest.mark.django_db
def test_link_mode_hard_links_and_tar_packs_the_videos(world, tmp_path, media_root):
    out = tmp_path / "dataset"
    export(out, "--videos", "link", "--tar", "--test-fraction", "0")
    video = world.videos[0]
    exported = out / "videos" / video.prompt.prompt_id / f"{video.video_id}.mp4"
    assert os.stat(exported).st_ino == os.stat(media_root / video.rendition.name).st_ino
    with tarfile.open(out / "videos.tar.gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {f"videos/{v.prompt.prompt_id}/{v.video_id}.mp4" for v in world.videos}


@pytest.mark.django_db
def test_summary_names_every_skip_reason(world, tmp_path, capsys):
    # A video still transcoding, a prompt nobody labelled, a pair with one annotation only.
    Video.objects.filter(pk=world.videos[3].pk).update(status=Video.Status.PROCESSING)
    for pair in add_prompt(world, PromptFactory(prompt_id="pnolabel01"), n_videos=2):
        for user in world.annotators:
            annotate(pair, user)
    labelled = PromptFactory(prompt_id="pthin00001", prompt_labels=harm_label())
    annotate(add_prompt(world, labelled, n_videos=2)[0], world.annotators[0])

    out = tmp_path / "dataset"
    call_command(
        "export_safesora", "--out", str(out), "--min-annotations", "2", "--test-fraction", "0"
    )
    printed = capsys.readouterr().out
    assert "skipped 2: video not ready" in printed  # videos[3] is in two pairs of its prompt
    assert "skipped 1: prompt has no labels" in printed
    assert "skipped 1: fewer than 2 annotations" in printed
    records = read_dataset(out, "preference")["train"]
    assert len(records) == 9 - 2
    assert f"preference: {len(records)} train, 0 test records" in printed
    assert not any(r["prompt_id"] in ("pnolabel01", "pthin00001") for r in records)
