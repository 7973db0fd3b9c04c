"""The transcoding service over a generated corpus: every good clip becomes a playable H.264
MP4 with a poster; every bad one fails with a reason a person understands."""

from __future__ import annotations

import pytest

from annotation_server.catalog import services
from annotation_server.catalog.models import Video
from tests.catalog.transcode_corpus import (
    clip,
    decoded_frames,
    media_root,  # noqa: F401  (fixture)
    pending_video,
    probe,
)

GOOD = {
    # name: (has audio, display is portrait)
    "vp9_audio.webm": (True, False),
    "hevc.mkv": (False, False),
    "mpeg4_audio.avi": (True, False),
    "animated.gif": (False, False),
    "odd_513x511.mp4": (False, False),
    "rotated_phone.mp4": (False, True),
    "vfr.mkv": (False, False),
    "tenbit.mkv": (False, False),
    "one_frame.mp4": (False, False),
    "surround.mp4": (True, False),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_clip_becomes_playable_h264_mp4(media_root, name):  # noqa: F811
    has_audio, portrait = GOOD[name]
    video = pending_video(media_root, name)

    services.video_transcode(video_pk=video.pk)

    video.refresh_from_db()
    assert video.status == Video.Status.READY, video.failure_reason
    rendition = media_root / video.rendition.name
    assert video.rendition.name == f"videos/renditions/{video.uid.hex[:2]}/{video.uid}.mp4"
    info = probe(rendition)
    streams = {s["codec_type"]: s for s in info["streams"]}
    picture = streams["video"]
    assert picture["codec_name"] == "h264"
    assert picture["pix_fmt"] == "yuv420p"
    assert picture["width"] % 2 == 0 and picture["height"] % 2 == 0
    assert (picture["height"] > picture["width"]) == portrait
    assert not any("rotation" in d for d in picture.get("side_data_list", []))
    assert ("audio" in streams) == has_audio
    if has_audio:
        assert streams["audio"]["codec_name"] == "aac"
        assert streams["audio"]["channels"] <= 2
    assert decoded_frames(rendition) >= 1
    data = rendition.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while loading
    assert video.rendition_size == len(data)
    assert (media_root / video.poster.name).read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert video.width and video.height and video.codec
    assert (video.height > video.width) == portrait
    assert "tags" not in video.probe["format"]


@pytest.mark.django_db
def test_odd_dimensions_are_rounded_down_to_even(media_root):  # noqa: F811
    video = pending_video(media_root, "odd_513x511.mp4")
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    picture = probe(media_root / video.rendition.name)["streams"][0]
    assert (picture["width"], picture["height"]) == (512, 510)
    assert (video.width, video.height) == (513, 511)


@pytest.mark.django_db
def test_rendition_is_scaled_to_the_maximum_size(media_root, settings):  # noqa: F811
    settings.VIDEO_RENDITION_MAX_SIZE = 100
    video = pending_video(media_root, "odd_513x511.mp4")
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    picture = probe(media_root / video.rendition.name)["streams"][0]
    assert max(picture["width"], picture["height"]) <= 100
    assert picture["width"] % 2 == 0 and picture["height"] % 2 == 0


BAD = {
    "empty.mp4": "file is empty",
    "text.mp4": "not a video file",
    "truncated.mp4": "decoding error at ",
    "audio_only.mp4": "no video stream (audio only)",
    "padded_big.mp4": "larger than the 195.3 KB limit",
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_fails_with_a_reason_and_keeps_nothing(media_root, settings, name):  # noqa: F811
    settings.VIDEO_MAX_INPUT_BYTES = 200_000
    video = pending_video(media_root, name)

    services.video_transcode(video_pk=video.pk)

    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason.startswith(BAD[name])
    assert not video.rendition
    renditions = media_root / "videos" / "renditions"
    assert not renditions.exists() or not list(renditions.rglob("*.mp4"))
    assert not renditions.exists() or not list(renditions.rglob("*.jpg"))
    assert (media_root / video.source.name).exists()  # the upload itself is kept


@pytest.mark.django_db
def test_truncated_file_reports_where_decoding_broke(media_root):  # noqa: F811
    video = pending_video(media_root, "truncated.mp4")
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    seconds = float(video.failure_reason.removeprefix("decoding error at ").removesuffix(" s"))
    assert 0 < seconds < 3.0


@pytest.mark.django_db
def test_duration_and_resolution_limits_are_settings(media_root, settings):  # noqa: F811
    settings.VIDEO_MAX_DURATION_S = 2
    too_long = pending_video(media_root, "plain_3s.mp4")
    services.video_transcode(video_pk=too_long.pk)
    too_long.refresh_from_db()
    assert too_long.failure_reason == "longer than the 2 s limit (3.0 s)"

    settings.VIDEO_MAX_DURATION_S = 60
    settings.VIDEO_MAX_WIDTH = 500
    too_wide = pending_video(media_root, "odd_513x511.mp4")
    services.video_transcode(video_pk=too_wide.pk)
    too_wide.refresh_from_db()
    assert too_wide.status == Video.Status.FAILED
    assert too_wide.failure_reason == "513×511 is larger than the 500×4096 resolution limit"


@pytest.mark.django_db
def test_rerun_only_makes_missing_files(media_root):  # noqa: F811
    video = pending_video(media_root, "landscape.mp4")
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    rendition = media_root / video.rendition.name
    poster = media_root / video.poster.name
    first_mtime = rendition.stat().st_mtime_ns

    services.video_transcode(video_pk=video.pk)  # ready with both files: nothing to do
    assert rendition.stat().st_mtime_ns == first_mtime

    poster.unlink()
    services.video_transcode(video_pk=video.pk)
    video.refresh_from_db()
    assert video.status == Video.Status.READY
    assert poster.exists()
    assert rendition.stat().st_mtime_ns == first_mtime  # the rendition was not re-encoded
    assert not [p for p in rendition.parent.iterdir() if ".part" in p.name]


def test_clip_corpus_sources_are_what_they_claim():
    """The corpus really covers the codecs and containers the issue lists."""
    codecs = {
        name: probe(clip(name))["streams"][0]["codec_name"]
        for name in ("vp9_audio.webm", "hevc.mkv", "mpeg4_audio.avi", "animated.gif")
    }
    assert codecs == {
        "vp9_audio.webm": "vp9", "hevc.mkv": "hevc", "mpeg4_audio.avi": "mpeg4",
        "animated.gif": "gif",
    }  # fmt: skip
    assert probe(clip("tenbit.mkv"))["streams"][0]["pix_fmt"] == "yuv420p10le"
    rotated = probe(clip("rotated_phone.mp4"))["streams"][0]
    assert rotated["side_data_list"][0]["rotation"] in (90, -90)
