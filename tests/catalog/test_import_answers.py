"""A preference config's judgements come in with its pairs, as external annotations of a
named source: every field kept, none of them counted as our workers' answers."""

from __future__ import annotations

import gzip
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.models import Batch, Pair

from .importing import copy_sample, media, run_failing_import, run_import

__all__ = ["media"]


def _records(path):
    return json.loads(gzip.decompress(path.read_bytes()))


def test_the_release_judgements_are_kept_beside_the_pairs(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora")
    config = root / "config-train.json.gz"
    out = run_import(config, "release")
    records = _records(config)
    batch = Batch.objects.get(name="release")
    assert f"{len(records)} external annotation(s)" in out and f"{len(records)} pair(s)" in out
    kept = ExternalAnnotation.objects.filter(batch=batch, source="safesora-release")
    assert kept.count() == len(records)
    first = kept.get(pair__pair_id=records[0]["pair_id"])
    assert first.answer == {
        "helpfulness": records[0]["helpfulness"],
        "harmlessness": records[0]["harmlessness"],
        "sub_preferences": records[0]["sub_preferences"],
        "video_0_is_safe": records[0]["video_0"]["is_safe"],
        "video_1_is_safe": records[0]["video_1"]["is_safe"],
    }
    # Every field of every record, as released, read back from the database.
    assert [e.details["record"] for e in kept.order_by("id")] == records
    assert first.taxonomy.name == "safesora"
    # Nothing counts for our assignment: each pair still wants its K fresh judgements.
    assert not Annotation.objects.exists()
    assert set(Pair.objects.filter(batch=batch).values_list("taken", flat=True)) == {0}


def test_two_judgements_of_one_pair_are_two_annotations_and_a_source_can_be_named(
    db, tmp_path, media
):
    root = copy_sample(tmp_path, "safesora")
    records = _records(root / "config-train.json.gz")
    again = {**records[0], "helpfulness": "video_1"}  # a second person, another verdict
    (root / "round.json").write_text(json.dumps([records[0], again], ensure_ascii=False))
    run_import(root / "round.json", "ours", "--answers-source", "lab-round-1")
    kept = ExternalAnnotation.objects.filter(source="lab-round-1")
    assert Pair.objects.filter(batch__name="ours").count() == 1
    assert sorted(e.answer["helpfulness"] for e in kept) == ["video_0", "video_1"]
    assert len({e.source_annotator for e in kept}) == 2  # each record its own annotator


def test_a_malformed_judgement_is_refused_with_its_place_and_nothing_is_written(
    db, tmp_path, media
):
    root = copy_sample(tmp_path, "safesora")
    records = _records(root / "config-train.json.gz")
    records[1]["harmlessness"] = "both"
    records[2]["sub_preferences"]["informativeness"] = "video_0"
    (root / "bad.json").write_text(json.dumps(records, indent=1, ensure_ascii=False))
    err = run_failing_import(root / "bad.json", "bad")
    assert 'harmlessness: must be "video_0" or "video_1", not \'both\'' in err
    assert "sub_preferences: unknown keys: informativeness" in err
    assert not Batch.objects.exists() and not ExternalAnnotation.objects.exists()


@pytest.mark.parametrize("name", ["config-train.json.gz", "config-test.json.gz"])
def test_both_shared_configs_keep_one_annotation_per_record(db, tmp_path, media, name):
    root = copy_sample(tmp_path, "safesora")
    run_import(root / name, "split")
    assert ExternalAnnotation.objects.count() == len(_records(root / name))


def test_an_unusable_source_name_is_refused_before_anything_is_read(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_batch", str(root), "--name", "x", "--answers-source", "My Lab!",
                     stdout=StringIO(), stderr=err)  # fmt: skip
    assert "--answers-source: a source name is lower-case letters" in err.getvalue()
    assert not Batch.objects.exists()
