"""Exports with STORAGE_BACKEND=s3: renditions are streamed out of the bucket (a real
S3-protocol server on loopback) into videos/<prompt_id>/<video_id>.mp4."""

from __future__ import annotations

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management import call_command

from tests.catalog.transcode_corpus import decoded_frames

from .spec_reader import read_dataset
from .world import build_world


@pytest.fixture
def world(make_user, media_root, clip, s3_media):
    built = build_world(make_user)
    for video in built.videos:
        with clip.open("rb") as handle:
            assert default_storage.save(video.rendition.name, File(handle)) == video.rendition.name
    return built


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["copy", "link"])
def test_videos_are_copied_out_of_the_bucket_and_decode(world, tmp_path, clip, mode, media_root):
    out = tmp_path / "dataset"
    call_command(
        "export_safesora", "--out", str(out), "--kind", "preference", "--videos", mode,
        "--test-fraction", "0", verbosity=0,
    )  # fmt: skip

    records = read_dataset(out, "preference", videos=True)["train"]
    assert sorted(r["pair_id"] for r in records) == sorted(p.pair_id for p in world.pairs)
    exported = sorted((out / "videos").rglob("*.mp4"))
    assert [p.relative_to(out / "videos").as_posix() for p in exported] == sorted(
        f"{v.prompt.prompt_id}/{v.video_id}.mp4" for v in world.videos
    )
    for path in exported:
        assert path.read_bytes() == clip.read_bytes()
        assert decoded_frames(path) >= 1
    assert not any(media_root.iterdir())  # nothing went through local media


@pytest.mark.django_db
def test_a_rendition_missing_from_the_bucket_skips_its_records(world, tmp_path, capsys):
    default_storage.delete(world.videos[0].rendition.name)
    out = tmp_path / "dataset"
    call_command(
        "export_safesora", "--out", str(out), "--kind", "preference", "--videos", "copy",
        "--test-fraction", "0",
    )  # fmt: skip

    records = read_dataset(out, "preference", videos=True)["train"]
    missing = world.videos[0].video_id
    assert records and all(missing not in (r["video_0"]["video_id"], r["video_1"]["video_id"])
                           for r in records)  # fmt: skip
    assert "skipped 2: video file missing" in capsys.readouterr().out
