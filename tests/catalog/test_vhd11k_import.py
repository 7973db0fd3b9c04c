"""import_batch on a VHD11K-shaped release: a classification batch, its items and labels."""

from __future__ import annotations

import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.annotations.services import external_labels_write
from annotation_server.batches import import_common
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.importers.vhd11k_standin import write_standin
from annotation_server.catalog.models import Video

from .importing import media, stored_files

__all__ = ["media"]


@pytest.fixture
def external_writer(monkeypatch):
    # The writer the annotations app registers at start-up, and only it.
    monkeypatch.setattr(import_common, "_external_labels_writers", [external_labels_write])


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vhd11k")
    return folder, write_standin(folder, images=50, videos=2, seed=7)


def run(path, name="vhd", *args):
    out, err = StringIO(), StringIO()
    call_command(
        "import_batch", str(path), "--name", name, "--no-transcode", *args, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_a_release_becomes_a_classification_batch_with_the_release_labels(
    standin, media, external_writer
):
    folder, summary = standin
    out, err = run(folder)
    batch = Batch.objects.get(name="vhd")
    assert batch.kind == Batch.Kind.CLASSIFICATION and batch.taxonomy.name == "vhd11k"
    assert batch.status == Batch.Status.PROCESSING
    items = Video.objects.filter(pk__in=Pair.objects.filter(batch=batch).values("video_0"))
    assert sorted(items.values_list("media_type", flat=True).distinct()) == ["image", "video"]
    assert items.count() == 52 and set(items.values_list("status", flat=True)) == {"pending"}
    assert not Pair.objects.filter(batch=batch, video_1__isnull=False).exists()
    assert len(stored_files(media)) == 52  # every member stored, each once
    with zipfile.ZipFile(folder / "harmful_images_50.zip") as archive:
        first = archive.infolist()[0]
        video = Video.objects.get(video_id=first.filename.rsplit("/", 1)[-1])
        assert video.source.read() == archive.read(first)
    labels = ExternalAnnotation.objects.filter(batch=batch, source="vhd11k")
    assert labels.count() == 52 and "52 external annotation(s)" in out
    refused = labels.get(details__harmful_type="API refuse to answer")
    assert refused.answer == {"harmful": True, "categories": []}
    error = labels.get(details__decision="error")
    assert error.answer == {"harmful": None, "categories": None}
    some = labels.filter(details__decision="yes").exclude(details__harmful_type__startswith="API")
    for label in some:
        assert len(label.details["arguments"]) == 4 and label.details["row"]
        mapped = label.details["categories_mapped"]
        assert (label.answer["categories"] is None) == (not mapped)
    assert "ISO-8859-1" in err  # the rows that needed the fallback are named


@pytest.mark.django_db
def test_a_second_batch_of_the_same_release_reuses_the_items(standin, media, external_writer):
    folder, _ = standin
    run(folder, "first")
    out, _ = run(folder, "second", "--kind", "classification")
    assert "0 new video(s), 52 reused" in out
    assert Video.objects.count() == 52 and len(stored_files(media)) == 52
    assert ExternalAnnotation.objects.filter(batch__name="second").count() == 52


@pytest.mark.django_db
def test_a_hostile_release_writes_nothing(tmp_path, media, external_writer):
    write_standin(tmp_path, images=3, videos=0)
    with zipfile.ZipFile(tmp_path / "harmful_images_3.zip", "a") as zf:
        zf.writestr("../../escape.jpeg", b"x")
    with pytest.raises(CommandError):
        run(tmp_path)
    assert not Batch.objects.exists() and not Video.objects.exists()
    assert stored_files(media) == []


@pytest.mark.django_db
def test_the_kind_must_match_the_input(standin, tmp_path, media, external_writer):
    folder, _ = standin
    with pytest.raises(CommandError):
        run(folder, "x", "--kind", "pairwise")
    with pytest.raises(CommandError):
        run(tmp_path, "y", "--kind", "classification")  # an empty folder is no release
    assert not Batch.objects.exists()


@pytest.mark.django_db
def test_without_a_registered_writer_nothing_is_imported(standin, media, monkeypatch):
    monkeypatch.setattr(import_common, "_external_labels_writers", [])
    with pytest.raises(CommandError, match="No writer of external annotations"):
        run(standin[0])
    assert not Video.objects.exists() and stored_files(media) == []


def test_the_annotations_app_registers_the_writer_at_start_up():
    """Without it `import_batch` of a release refuses to run (see the test above)."""
    assert external_labels_write in import_common._external_labels_writers
