"""An export folder of ours with `annotations.jsonl` imports with every raw answer kept
(one external annotation per line), and exports again to the same records when they count;
a broken line refuses the import with its line number, nothing written."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video

from .annotating import clear_catalog, put_renditions
from .spec_reader import read_dataset
from .world import build_world

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def records(folder) -> dict[str, dict]:
    splits = read_dataset(folder, "preference")
    return {r["pair_id"]: r for r in splits["train"] + splits["test"]}


@pytest.fixture
def exported(make_user, media_root, clip, tmp_path):
    world = build_world(make_user)
    put_renditions(media_root, clip, world.videos)
    first = tmp_path / "first"
    run("export_safesora", "--out", str(first), "--videos", "copy", "--raw")
    clear_catalog()
    return first


def test_every_raw_answer_comes_in_and_counts(exported, tmp_path):
    printed, _ = run("import_batch", str(exported), "--name", "again", "--no-transcode",
                     "--answers-count")  # fmt: skip
    lines = [json.loads(x) for x in (exported / "annotations.jsonl").read_text().splitlines()]
    assert f"annotations.jsonl: {len(lines)} raw answer(s) kept as source 'raw-export'" in printed
    assert "Answers of 'raw-export' count: 9 pair(s) credited with 27 judgement(s)" in printed
    kept = ExternalAnnotation.objects.filter(batch__name="again", source="raw-export")
    assert sorted(e.details["record"]["annotator"] for e in kept) == sorted(
        line["annotator"] for line in lines
    )
    assert {e.source_annotator for e in kept} == {line["annotator"] for line in lines}
    assert sorted(json.dumps(e.details["record"], sort_keys=True) for e in kept) == sorted(
        json.dumps(line, sort_keys=True) for line in lines
    )
    # The configs' majority records are kept too, under their own name, and do not count.
    assert ExternalAnnotation.objects.filter(source="export-majority").count() == 9
    assert Batch.objects.get(name="again").counted_sources == ["raw-export"]
    assert set(Pair.objects.filter(batch__name="again").values_list("credited", flat=True)) == {3}

    Video.objects.update(status=Video.Status.READY, rendition=F("source"))
    second = tmp_path / "second"
    run("export_safesora", "--out", str(second), "--batch", "again")
    assert records(second) == records(exported)


def test_a_broken_line_refuses_the_import_with_its_line_number(exported):
    path = exported / "annotations.jsonl"
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["helpfulness"] = "left"
    broken["video_0_harms"] = ["gore"]
    lines[1] = json.dumps(broken)
    lines[4] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    err = StringIO()
    with pytest.raises(CommandError, match="annotations.jsonl was refused with 3 problem"):
        call_command("import_batch", str(exported), "--name", "again", "--no-transcode",
                     stdout=StringIO(), stderr=err)  # fmt: skip
    shown = err.getvalue()
    assert "annotations.jsonl:2: helpfulness: must be" in shown
    assert "annotations.jsonl:2: video_0_harms: unknown harm keys: gore" in shown
    assert "annotations.jsonl:5: not JSON" in shown
    assert not Batch.objects.exists() and not ExternalAnnotation.objects.exists()
