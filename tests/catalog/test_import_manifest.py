"""Importing JSONL manifests: exactly the prompts, videos and pairs they describe."""

from __future__ import annotations

import hashlib

import pytest

from annotation_server.batches.models import Batch, Pair
from annotation_server.batches.services import batch_import
from annotation_server.catalog.models import Prompt, Video
from annotation_server.taxonomy import harm_label

from .importing import clip, media, prompt_line, run_import, stored_files, write_manifest

__all__ = ["media"]


def _manifest(tmp_path):
    src = tmp_path / "in"
    return write_manifest(
        src,
        [
            prompt_line(
                "p1",
                [
                    {"path": clip(src, "p1/a.mp4"), "video_id": "a", "generated_from": "ModelA"},
                    {
                        "path": clip(src, "p1/b.mp4"),
                        "video_id": "b",
                        "generated_from": "ModelB",
                        "video_text": "Text of p1, refined",
                    },
                    {"path": clip(src, "p1/c.mp4"), "video_id": "c", "generated_from": "ModelC"},
                ],
                prompt_type="safety_critical",
                prompt_labels=["violence"],
            ),
            prompt_line(
                "p2",
                [
                    {"path": clip(src, "p2/x.mp4"), "video_id": "x", "generated_from": "ModelA"},
                    {
                        "path": clip(src, "p2/no-id.mp4", b"bytes without an id"),
                        "generated_from": "ModelB",
                    },
                ],
            ),
        ],
    )


def test_manifest_imports_prompts_videos_and_every_pair(db, tmp_path, media):
    (tmp_path / "in").mkdir()
    out = run_import(_manifest(tmp_path), "first", "--overlap", "5", "--priority", "7")

    batch = Batch.objects.get(name="first")
    assert (batch.overlap, batch.priority, batch.status) == (5, 7, Batch.Status.PROCESSING)
    assert "2 new prompt(s)" in out and "5 new video(s)" in out and "4 pair(s)" in out
    p1 = Prompt.objects.get(prompt_id="p1")
    assert p1.prompt_type == "safety_critical"
    assert p1.prompt_labels == harm_label(["violence"])
    assert Prompt.objects.get(prompt_id="p2").prompt_labels is None
    sha = hashlib.sha256(b"bytes without an id").hexdigest()
    video = Video.objects.get(video_id=sha)  # a missing video_id is the file's sha256
    assert (video.prompt.prompt_id, video.video_text, video.generated_from) == (
        "p2",
        "Text of p2",
        "ModelB",
    )
    assert Video.objects.get(video_id="b").video_text == "Text of p1, refined"
    assert set(Video.objects.values_list("status", flat=True)) == {Video.Status.PENDING}
    pairs = {(p.pair_id, p.video_0.video_id, p.video_1.video_id) for p in batch.pairs.all()}
    assert pairs == {
        ("a-b", "a", "b"),
        ("a-c", "a", "c"),
        ("b-c", "b", "c"),
        (f"x-{sha}", "x", sha),
    }
    assert Pair.objects.get(pair_id="a-b").prompt.prompt_id == "p1"
    # The stored copy is the same bytes, under a content address (not the user's name).
    stored = media / video.source.name
    assert stored.read_bytes() == b"bytes without an id"
    assert sha in video.source.name and "no-id" not in video.source.name


def test_same_content_is_stored_once(db, tmp_path, media):
    src = tmp_path / "in"
    same = b"identical bytes"
    manifest = write_manifest(
        src,
        [
            prompt_line(
                "p1",
                [
                    {"path": clip(src, "one.mp4", same), "video_id": "v1", "generated_from": "A"},
                    {"path": clip(src, "two.mp4"), "video_id": "v2", "generated_from": "B"},
                ],
            ),
            prompt_line(
                "p2",
                [
                    {
                        "path": clip(src, "copy-of-one.mp4", same),
                        "video_id": "v3",
                        "generated_from": "A",
                    },
                    {"path": clip(src, "four.mp4"), "video_id": "v4", "generated_from": "B"},
                ],
            ),
        ],
    )
    run_import(manifest)
    assert Video.objects.count() == 4
    assert len(stored_files(media)) == 3
    assert (
        Video.objects.get(video_id="v1").source.name == Video.objects.get(video_id="v3").source.name
    )


def test_reimport_reuses_prompts_and_videos_and_queues_no_transcodes(db, tmp_path, media):
    (tmp_path / "in").mkdir()
    manifest = _manifest(tmp_path)
    first = batch_import(path=manifest, name="first", enqueue_transcode=True)
    assert sorted(first.transcodes_queued) == sorted(Video.objects.values_list("pk", flat=True))
    Video.objects.update(status=Video.Status.READY, rendition="videos/r.mp4")
    files_before = stored_files(media)

    second = batch_import(path=manifest, name="second", enqueue_transcode=True)

    assert (Prompt.objects.count(), Video.objects.count()) == (2, 5)
    assert (second.prompts_reused, second.videos_reused, second.files_copied) == (2, 5, 0)
    assert second.transcodes_queued == []  # ready videos are not transcoded again
    assert second.batch.status == Batch.Status.READY
    assert second.batch.pairs.count() == 4 and Pair.objects.count() == 8
    assert stored_files(media) == files_before


def test_transcoding_is_queued_only_after_commit(
    db, tmp_path, media, django_capture_on_commit_callbacks
):
    (tmp_path / "in").mkdir()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = batch_import(path=_manifest(tmp_path), name="first")
    assert len(callbacks) == 1
    assert len(result.transcodes_queued) == 5


def test_blank_lines_and_crlf_are_accepted(db, tmp_path, media):
    src = tmp_path / "in"
    line = prompt_line(
        "p1",
        [
            {"path": clip(src, "a.mp4"), "generated_from": "A"},
            {"path": clip(src, "b.mp4"), "generated_from": "B"},
        ],
    )
    import json

    (src / "m.jsonl").write_bytes(b"\r\n" + json.dumps(line).encode() + b"\r\n\r\n")
    run_import(src / "m.jsonl")
    assert Pair.objects.count() == 1


def test_reused_failed_video_makes_its_new_pairs_inactive(db, tmp_path, media):
    (tmp_path / "in").mkdir()
    manifest = _manifest(tmp_path)
    batch_import(path=manifest, name="first", enqueue_transcode=False)
    Video.objects.update(status=Video.Status.READY, rendition="videos/r.mp4")
    Video.objects.filter(video_id="c").update(status=Video.Status.FAILED, failure_reason="bad")

    second = batch_import(path=manifest, name="second")

    inactive = set(second.batch.pairs.filter(active=False).values_list("pair_id", flat=True))
    assert inactive == {"a-c", "b-c"}
    assert second.batch.status == Batch.Status.READY and second.transcodes_queued == []


def test_a_failure_inside_the_write_leaves_no_rows_and_no_copied_files(db, tmp_path, media):
    from django.contrib.auth import get_user_model

    (tmp_path / "in").mkdir()
    unsaved_owner = get_user_model()(username="ghost")  # makes Batch.objects.create fail

    with pytest.raises(ValueError, match="unsaved related object"):
        batch_import(path=_manifest(tmp_path), name="first", owner=unsaved_owner)

    assert (Prompt.objects.count(), Video.objects.count(), Batch.objects.count()) == (0, 0, 0)
    assert stored_files(media) == []
