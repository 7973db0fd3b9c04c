"""Classification batches out as a VHD11K-shaped release (annotation CSV + media zip), from
our workers' majority, and back through the VHD11K importer."""

from __future__ import annotations

import csv
import io
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch
from tests.factories import BatchFactory

from .classifying import (
    answer_as_the_release,
    classification_batch,
    classify,
    unit_of,
    video_with_file,
)

pytestmark = pytest.mark.django_db

HEADER = [
    "decision",
    "harmfulType",
    "affirmativeDebater_argument_0",
    "affirmativeDebater_argument_1",
    "negativeDebater_argument_0",
    "negativeDebater_argument_1",
]


def export(out, *batches) -> str:
    stdout = StringIO()
    call_command(
        "export_safesora", "--out", str(out), "--kind", "vhd11k", "--batch", *batches,
        stdout=stdout, verbosity=0,
    )  # fmt: skip
    return stdout.getvalue()


def rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture
def small_batch(make_user, media_root, clip):
    """Two videos and an image on the vhd11k taxonomy, three workers each."""
    batch = classification_batch("vhd", "vhd11k")
    items = [
        video_with_file(media_root, clip, prompt=False, video_id="Real_blood_0001.mp4"),
        video_with_file(media_root, clip, prompt=False, video_id="AniDiffv3_calm_0002.mp4"),
        video_with_file(
            media_root, clip, prompt=False, video_id="kkk_00005.jpeg", media_type="image"
        ),
    ]
    workers = [make_user() for _ in range(3)]
    answers = [
        [["distressing_content"], ["distressing_content", "potential_for_violence"], []],
        [[], [], ["distressing_content"]],
        [["potential_for_violence"], ["potential_for_violence"], []],
    ]
    for item, given in zip(items, answers, strict=True):
        unit = unit_of(batch, item)
        for worker, categories in zip(workers, given, strict=True):
            classify(unit, worker, harmful=bool(categories), categories=categories)
    return batch, items


def test_a_classification_batch_exports_as_the_release_columns_and_zips(
    small_batch, tmp_path, media_root
):
    _, items = small_batch
    out = tmp_path / "release"
    summary = export(out, "vhd")
    assert "vhd11k: 1 image, 2 video records" in summary
    assert sorted(p.name for p in out.iterdir()) == [
        "harmful_image_1_ann.csv",
        "harmful_images_1.zip",
        "harmful_video_2_ann.csv",
        "harmful_videos_2.zip",
    ]
    videos = rows(out / "harmful_video_2_ann.csv")
    assert videos[0] == ["videoPath", *HEADER]
    assert videos[1:] == [
        ["AniDiffv3_calm_0002.mp4", "no", "not harmful", "None", "None", "None", "None"],
        ["Real_blood_0001.mp4", "yes", "distressing_content", "None", "None", "None", "None"],
    ]
    images = rows(out / "harmful_image_1_ann.csv")
    assert images[0][0] == "imagePath"
    assert images[1][:3] == ["kkk_00005.jpeg", "yes", "potential_for_violence"]
    with zipfile.ZipFile(out / "harmful_videos_2.zip") as archive:
        for item in items[:2]:
            assert archive.read(item.video_id) == (media_root / item.source.name).read_bytes()


def test_the_release_imports_and_exports_to_the_same_files(small_batch, tmp_path, make_user):
    first, second = tmp_path / "first", tmp_path / "second"
    export(first, "vhd")
    call_command("import_batch", str(first), "--name", "again", "--no-transcode", stdout=StringIO())
    batch = Batch.objects.get(name="again")
    labels = ExternalAnnotation.objects.filter(batch=batch, source="vhd11k")
    assert {tuple(e.answer["categories"]) for e in labels} == {
        (),
        ("distressing_content",),
        ("potential_for_violence",),
    }
    assert answer_as_the_release(batch, make_user()) == 3
    export(second, "again")
    for path in first.iterdir():
        if path.suffix == ".csv":
            assert path.read_bytes() == (second / path.name).read_bytes()
        else:
            with zipfile.ZipFile(path) as a, zipfile.ZipFile(second / path.name) as b:
                assert sorted(a.namelist()) == sorted(b.namelist())
                assert all(a.read(n) == b.read(n) for n in a.namelist())


def test_pairwise_batches_and_unnamed_batches_are_refused(tmp_path, small_batch):
    BatchFactory(name="pairs")
    with pytest.raises(CommandError, match="export each kind on its own"):
        export(tmp_path / "x", "vhd", "pairs")
    with pytest.raises(CommandError, match="name them with --batch"):
        call_command("export_safesora", "--out", str(tmp_path / "y"), "--kind", "vhd11k")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
