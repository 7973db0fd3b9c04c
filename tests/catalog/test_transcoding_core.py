"""The pure core (no Django, no ffmpeg run): probe parsing, limits, ffmpeg arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation_server.catalog.transcoding import commands, errors, probe
from annotation_server.catalog.transcoding.errors import TranscodeRejected

LIMITS = probe.Limits(max_bytes=512 * 1024 * 1024, max_duration_s=60, max_width=4096,
                      max_height=4096)  # fmt: skip


def _probe(*streams, duration="4.0", format_name="mov,mp4,m4a,3gp,3g2,mj2"):
    fmt = {"format_name": format_name, "duration": duration, "tags": {"gps": "x"}}
    return {"streams": list(streams), "format": fmt}


VIDEO = {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 1920,
         "height": 1080, "avg_frame_rate": "30000/1001", "sample_aspect_ratio": "1:1"}  # fmt: skip
AUDIO = {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 6}


def test_parse_video_with_audio():
    info = probe.parse_probe(_probe(VIDEO, AUDIO))
    assert (info.width, info.height, info.codec, info.fps) == (1920, 1080, "h264", 29.97)
    assert (info.audio_index, info.audio_channels, info.duration_s) == (1, 6, 4.0)


def test_rotation_swaps_display_dimensions():
    rotated = dict(VIDEO, side_data_list=[{"side_data_type": "Display Matrix", "rotation": -90}])
    info = probe.parse_probe(_probe(rotated))
    assert (info.width, info.height, info.rotation) == (1080, 1920, 270)


def test_anamorphic_pixels_give_the_displayed_width():
    info = probe.parse_probe(
        _probe(dict(VIDEO, width=720, height=576, sample_aspect_ratio="16:15"))
    )
    assert (info.width, info.height) == (768, 576)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_probe(AUDIO), "no video stream (audio only)"),
        (_probe(dict(VIDEO, disposition={"attached_pic": 1}), AUDIO),
         "no video stream (audio only)"),  # cover art is not a video
        (_probe(), "not a video file"),
        (_probe(dict(VIDEO, codec_name="ansi"), format_name="tty"), "not a video file"),
        (_probe(dict(VIDEO, codec_name="png"), format_name="png_pipe"),
         "a still image, not a video"),
    ],
)  # fmt: skip
def test_files_that_are_not_videos(data, reason):
    with pytest.raises(TranscodeRejected) as caught:
        probe.parse_probe(data)
    assert caught.value.reason == reason


def test_limits_name_the_limit():
    with pytest.raises(TranscodeRejected, match=r"^longer than the 60 s limit \(61.5 s\)$"):
        probe.check_limits(probe.parse_probe(_probe(VIDEO, duration="61.5")), LIMITS)
    with pytest.raises(TranscodeRejected, match=r"^larger than the 512 MB limit \(600 MB\)$"):
        probe.check_size(600 * 1024 * 1024, LIMITS)
    with pytest.raises(TranscodeRejected, match="^file is empty$"):
        probe.check_size(0, LIMITS)


def test_trimmed_probe_drops_tags():
    trimmed = probe.trim_probe(_probe(VIDEO, AUDIO))
    assert "tags" not in trimmed["format"]
    assert trimmed["streams"][0]["width"] == 1920


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1920, 1080), (1280, 720)), ((513, 511), (512, 510)), ((1080, 1920), (720, 1280)),
     ((3, 3), (2, 2))],
)  # fmt: skip
def test_rendition_dimensions_are_even_and_never_upscaled(size, expected):
    assert commands.rendition_dimensions(*size, max_size=1280) == expected


def test_rendition_arguments():
    info = probe.parse_probe(_probe(VIDEO, AUDIO))
    options = commands.EncodeOptions(crf=20, preset="fast")
    args = commands.rendition_args(Path("/in.mkv"), Path("/out.mp4"), info, options)
    joined = " ".join(map(str, args))
    for fragment in ("-xerror", "scale=1280:720", "format=yuv420p", "-vcodec libx264",
                     "-crf 20", "-preset fast", "-movflags +faststart", "-acodec aac",
                     "-ac 2", "-map 0:1", "-map_metadata -1"):  # fmt: skip
        assert fragment in joined
    no_audio = probe.parse_probe(_probe(VIDEO))
    assert "aac" not in commands.rendition_args(Path("/a"), Path("/b"), no_audio, options)
    assert "-t" not in args


def test_source_without_duration_is_cut_past_the_limit():
    info = probe.parse_probe(_probe(VIDEO, duration="N/A"))
    assert info.duration_s is None
    args = commands.rendition_args(
        Path("/a"), Path("/b"), info, commands.EncodeOptions(), stop_after_s=61
    )
    assert args[args.index("-t") + 1] == "61"


def test_framecrc_end_time_and_error_texts():
    output = "#tb 0: 1/25\n#media_type 0: video\n0, 0, 0, 1, 115200, 0x1\n0, 1, 1, 1, 115200, 0x2\n"
    assert commands.framecrc_end_time(output) == pytest.approx(0.08)
    assert commands.framecrc_end_time("") == 0
    assert errors.is_transient_failure("out.mp4: No space left on device")
    assert not errors.is_transient_failure("Invalid data found when processing input")
    assert errors.last_error_line("[h264 @ 0x55aa] broken\n\n") == "broken"
    assert commands.poster_seek(None) == 0 and commands.poster_seek(5) == 1.0
