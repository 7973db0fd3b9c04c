"""`--in-place`: a release inside MEDIA_ROOT/imports/ is imported without copying a file;
each video's source is its own file there, and a release anywhere else is refused whole."""

from __future__ import annotations

import shutil

from django.core.files.storage import default_storage

from annotation_server.batches.models import Batch
from annotation_server.catalog.models import Prompt, Video

from .importing import SAMPLES, media, run_failing_import, run_import

__all__ = ["media"]


def _sources(video: Video) -> tuple[str, bytes]:
    with default_storage.open(video.source.name, "rb") as fh:
        return video.source.name, fh.read()


def test_a_release_inside_imports_is_referenced_where_it_is(db, media):
    release = media / "imports" / "safesora"
    shutil.copytree(SAMPLES / "safesora", release)
    out = run_import(release / "config-train.json.gz", "in-place", "--in-place")
    assert "0 file(s) stored" in out
    videos = list(Video.objects.all())
    assert videos
    assert not (media / "videos").exists()  # nothing copied into videos/source/
    for video in videos:
        name, data = _sources(video)
        assert name.startswith("imports/safesora/videos/")
        assert data == (media / name).read_bytes() and len(data) == video.source_size
        assert len(video.sha256) == 64


def test_imports_may_be_a_link_to_a_mount(db, media, tmp_path):
    shutil.copytree(SAMPLES / "safesora", tmp_path / "mnt" / "safesora")
    (media / "imports").symlink_to(tmp_path / "mnt")
    run_import(media / "imports" / "safesora" / "config-train.json.gz", "m", "--in-place")
    for video in Video.objects.all():
        name, data = _sources(video)
        assert name.startswith("imports/safesora/videos/")
        assert data == (tmp_path / "mnt" / name.removeprefix("imports/")).read_bytes()


def test_a_release_outside_imports_is_refused_with_nothing_written(db, media, tmp_path):
    shutil.copytree(SAMPLES / "safesora", tmp_path / "elsewhere")
    # A link inside imports/ that leads out of it does not make the files inside.
    (media / "imports").mkdir()
    (media / "imports" / "out").symlink_to(tmp_path / "elsewhere")
    for config in (
        tmp_path / "elsewhere" / "config-train.json.gz",
        media / "imports" / "out" / "config-train.json.gz",
    ):
        err = run_failing_import(config, "refused", "--in-place")
        assert "--in-place reads each video where it is, so it must lie inside" in err
        assert "video_0.path" in err and "config-train.json.gz:" in err
    assert not Batch.objects.exists() and not Video.objects.exists()
    assert not Prompt.objects.exists() and not (media / "videos").exists()
