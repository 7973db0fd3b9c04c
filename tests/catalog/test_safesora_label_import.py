"""A SafeSora-Label dataset imported as a classification batch: the release's labels are kept
as external annotations, never as our workers' answers."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.management.base import CommandError

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.models import Batch, Pair

from .importing import SAMPLES, copy_sample, db_counts, media, run_import, stored_files

__all__ = ["media"]
pytestmark = pytest.mark.django_db


def _records(folder):
    return [
        record
        for split in ("train", "test")
        for record in json.loads(gzip.decompress((folder / f"config-{split}.json.gz").read_bytes()))
    ]


def test_a_label_dataset_becomes_a_classification_batch_on_the_safesora_taxonomy(tmp_path, media):
    folder = copy_sample(tmp_path, "safesora-label")
    output = run_import(folder, "labels", "--kind", "classification", "--no-transcode")
    assert "9 external annotation(s)" in output
    batch = Batch.objects.get(name="labels")
    assert batch.kind == Batch.Kind.CLASSIFICATION and batch.taxonomy.name == "safesora"
    units = Pair.objects.filter(batch=batch)
    assert units.count() == 9 and not units.filter(video_1__isnull=False).exists()
    assert all(u.pair_id == u.video_0.video_id and u.prompt_id for u in units)
    externals = ExternalAnnotation.objects.filter(batch=batch).select_related("pair")
    labels = {e.pair.pair_id: e for e in externals}
    assert {e.source for e in labels.values()} == {"safesora-label"}
    violent = labels["8a44d0c100a00003"]
    assert violent.answer == {"harmful": True, "categories": ["violence"]}
    assert labels["3f1c9a0e00a00000"].answer == {"harmful": False, "categories": []}
    by_id = {r["video_id"]: r for r in _records(SAMPLES / "safesora-label")}
    assert all(e.details["record"] == by_id[v] for v, e in labels.items())
    assert not Annotation.objects.filter(batch=batch).exists()


def test_preference_pairs_are_refused_as_a_classification_input(tmp_path, media):
    folder = copy_sample(tmp_path, "safesora")
    with pytest.raises(CommandError):
        run_import(folder, "labels", "--kind", "classification", "--no-transcode")
    assert db_counts() == (0, 0, 0, 0) and stored_files(media) == []


def test_a_record_whose_is_safe_contradicts_its_labels_writes_nothing(tmp_path, media, capsys):
    folder = copy_sample(tmp_path, "safesora-label")
    records = _records(folder)
    records[3]["is_safe"] = True  # labelled violent
    (folder / "config-test.json.gz").unlink()
    (folder / "config-train.json.gz").write_bytes(gzip.compress(json.dumps(records).encode()))
    with pytest.raises(CommandError, match="refused"):
        run_import(folder, "labels", "--kind", "classification", "--no-transcode")
    assert db_counts() == (0, 0, 0, 0) and stored_files(media) == []
