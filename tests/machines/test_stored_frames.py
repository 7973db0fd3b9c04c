"""A machine run on videos reads the frames stored for them (at transcoding, or by an earlier
run of the same selection) instead of starting ffmpeg; a stored set that is gone or damaged
is extracted again and stored anew."""

from __future__ import annotations

import base64
import io
import shutil

import pytest
from PIL import Image

from annotation_server.catalog import services
from annotation_server.core.jobs import job_execute
from annotation_server.machines.models import MachineRun
from annotation_server.machines.runs import KIND

from .chat_server import verdict

pytestmark = pytest.mark.django_db


def run(batch, annotator) -> MachineRun:
    made = MachineRun.objects.create(batch=batch, annotator=annotator)
    done = job_execute(KIND, made.pk)
    assert (done.status, done.done, done.failed) == ("succeeded", 1, 0), done.error
    return done


def sent_frames(server) -> list[bytes]:
    """The JPEGs of the last request, in order."""
    _, _, body = server.requests[-1]
    urls = [
        part["image_url"]["url"]
        for message in body["messages"] if isinstance(message["content"], list)
        for part in message["content"] if part.get("type") == "image_url"
    ]  # fmt: skip
    prefix = "data:image/jpeg;base64,"
    assert urls and all(url.startswith(prefix) for url in urls)
    return [base64.b64decode(url[len(prefix) :]) for url in urls]


def stored(media_root, video, selection: str) -> list[bytes]:
    folder = media_root / "frames" / str(video.pk) / selection
    count = int(selection.rsplit("-", 1)[1])
    return [(folder / f"{n}.jpg").read_bytes() for n in range(1, count + 1)]


@pytest.fixture
def video_batch(make_batch):
    batch = make_batch(images=0, videos=1)
    video = batch.pairs.get().video_0
    video.poster = ""  # a ready video without its poster: transcoding makes its files
    video.save(update_fields=["poster"])
    return batch, video


@pytest.fixture
def no_ffmpeg(monkeypatch, tmp_path):
    """ffmpeg and ffprobe gone from PATH: any extraction would fail the item."""
    empty = tmp_path / "no-ffmpeg"
    empty.mkdir()

    def take_away():
        monkeypatch.setenv("PATH", str(empty))
        assert shutil.which("ffmpeg") is None

    return take_away


def test_a_run_sends_the_frames_stored_at_transcoding_without_ffmpeg(
    video_batch, media_root, chat_server, make_annotator, api_key, no_ffmpeg
):
    batch, video = video_batch
    services.video_transcode(video_pk=video.pk)
    server = chat_server(lambda body, key, nth: verdict(True, ["violence"]))
    no_ffmpeg()

    run(batch, make_annotator(server, frames_per_video=5))

    frames = sent_frames(server)
    assert frames == stored(media_root, video, "uniform-5")
    assert all(Image.open(io.BytesIO(frame)).format == "JPEG" for frame in frames)


def test_another_selection_is_extracted_once_and_reused(
    video_batch, media_root, chat_server, make_annotator, api_key, no_ffmpeg
):
    batch, video = video_batch
    server = chat_server(lambda body, key, nth: verdict(False, []))
    run(batch, make_annotator(server, name="first", frames_per_video=3))
    first = sent_frames(server)
    assert first == stored(media_root, video, "uniform-3")

    no_ffmpeg()
    run(batch, make_annotator(server, name="second", frames_per_video=3))

    assert sent_frames(server) == first


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_a_stored_set_gone_or_damaged_is_extracted_again(
    video_batch, media_root, chat_server, make_annotator, api_key, damage
):
    batch, video = video_batch
    services.video_transcode(video_pk=video.pk)
    folder = media_root / "frames" / str(video.pk) / "uniform-5"
    if damage == "deleted":
        shutil.rmtree(folder)
    else:
        (folder / "2.jpg").write_bytes((folder / "2.jpg").read_bytes()[:300])
    server = chat_server(lambda body, key, nth: verdict(False, []))

    run(batch, make_annotator(server, frames_per_video=5))

    frames = sent_frames(server)
    assert len(frames) == 5
    for frame in frames:
        Image.open(io.BytesIO(frame)).load()  # whole JPEGs, none cut short
    assert frames == stored(media_root, video, "uniform-5")
