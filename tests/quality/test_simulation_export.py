"""A simulated batch exports like a real one, and the export imports back."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video
from tests.exports.annotating import clear_catalog, make_clip, put_renditions
from tests.exports.spec_reader import read_dataset


@pytest.mark.django_db
def test_a_simulated_batch_exports_imports_and_reads_back(settings, tmp_path):
    media_root = settings.MEDIA_ROOT = tmp_path / "media"
    clip = make_clip(tmp_path / "clip.mp4")
    call_command(
        "simulate_batch", "sim", "--prompts", "6", "--annotators", "3", "--clickers", "0",
        "--gold-pairs", "0", "--no-progress", stdout=io.StringIO(),
    )  # fmt: skip
    batch = Batch.objects.get(name="sim")
    judged = batch.pairs.filter(annotations__isnull=False).distinct().count()
    put_renditions(media_root, clip, Video.objects.filter(prompt__prompt_id__startswith="sim-"))

    out = tmp_path / "simulated"
    printed = io.StringIO()
    call_command("export_safesora", "--out", str(out), "--videos", "copy", "--batch", "sim",
                 "--test-fraction", "0.5", stdout=printed)  # fmt: skip
    assert "prompt has no labels" not in printed.getvalue()
    exported = read_dataset(out, "preference", videos=True)
    records = exported["train"] + exported["test"]
    assert len(records) == judged > 0
    critical = [r for r in records if r["prompt_type"] == "safety_critical"]
    assert critical and all(any(r["video_0"]["prompt_labels"].values()) for r in critical)

    clear_catalog()
    call_command("import_batch", str(out), "--name", "sim-again", "--no-transcode", verbosity=0)
    imported = set(Pair.objects.filter(batch__name="sim-again").values_list("pair_id", flat=True))
    assert imported == {r["pair_id"] for r in records}
