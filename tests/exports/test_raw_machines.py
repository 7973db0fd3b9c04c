"""`--raw` of a classification batch carries its answers, machine verdicts go to their own
file (never mixed with people's answers), and the VHD11K export can write a machine debate's
arguments and verdict."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.catalog.importers.vhd11k import read_release

from .classifying import classification_batch, classify, unit_of, video_with_file

pytestmark = pytest.mark.django_db


def export(out, *args: str) -> str:
    stdout = StringIO()
    call_command("export_safesora", "--out", str(out), *args, stdout=stdout, verbosity=0)
    return stdout.getvalue()


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def judged(make_user, media_root, clip):
    """Two images on the vhd11k taxonomy: two workers each, a debate machine (two
    versions) on both, a detector on one."""
    batch = classification_batch("judged", "vhd11k")
    units = [
        unit_of(
            batch,
            video_with_file(media_root, clip, prompt=False, video_id=name, media_type="image"),
        )  # fmt: skip
        for name in ("blood_0001.jpeg", "calm_0002.jpeg")
    ]
    for worker in (make_user(), make_user()):
        classify(units[0], worker, harmful=True, categories=["distressing_content"])
        classify(units[1], worker, harmful=False, categories=[])
    for version, unit, harmful in ((1, units[0], False), (2, units[0], True), (2, units[1], True)):
        ExternalAnnotation.objects.create(
            pair=unit, batch=batch, source="machine:judge", source_annotator=f"v{version}",
            taxonomy=batch.taxonomy,
            answer={"harmful": harmful, "categories": ["potential_for_violence"][: int(harmful)]},
            details={"kind": "debate", "model": "local-vlm", "status": "ok",
                     "usage": {"calls": 5, "prompt_tokens": 900, "completion_tokens": 300},
                     "arguments": {"affirmative": [f"harmful v{version}", "still harmful"],
                                   "negative": [f"calm v{version}"]}},
        )  # fmt: skip
    ExternalAnnotation.objects.create(
        pair=units[1], batch=batch, source="machine:nudenet", source_annotator="v1",
        taxonomy=batch.taxonomy, answer={"harmful": False, "categories": []},
        details={"kind": "detector", "model": "nudenet-320n", "status": "ok", "usage": {}},
    )  # fmt: skip
    return batch, units


def test_raw_lines_of_a_classification_batch_carry_its_answers(judged, tmp_path):
    printed = export(tmp_path / "o", "--kind", "vhd11k", "--batch", "judged", "--raw")
    assert "annotations.jsonl: 4 annotations" in printed
    assert "machine_annotations.jsonl: 4 machine verdicts" in printed
    human = lines(tmp_path / "o" / "annotations.jsonl")
    assert {row["annotator_kind"] for row in human} == {"human"}
    first = next(row for row in human if row["item"] == "blood_0001.jpeg")
    assert (first["harmful"], first["categories"]) == (True, ["distressing_content"])
    assert first["taxonomy"] == {"key": "vhd11k", "version": judged[0].taxonomy.version}
    assert "helpfulness" not in first and "sub_preferences" not in first


def test_machine_verdicts_are_kept_apart_naming_kind_and_version(judged, tmp_path):
    export(tmp_path / "o", "--kind", "vhd11k", "--batch", "judged", "--raw")
    machines = lines(tmp_path / "o" / "machine_annotations.jsonl")
    assert {row["annotator_kind"] for row in machines} == {"machine"}
    assert sorted((r["annotator"], r["version"], r["kind"], r["item"]) for r in machines) == [
        ("judge", 1, "debate", "blood_0001.jpeg"),
        ("judge", 2, "debate", "blood_0001.jpeg"),
        ("judge", 2, "debate", "calm_0002.jpeg"),
        ("nudenet", 1, "detector", "calm_0002.jpeg"),
    ]
    detector = next(r for r in machines if r["kind"] == "detector")
    assert (detector["source"], detector["model"], detector["status"]) == (
        "machine:nudenet", "nudenet-320n", "ok",
    )  # fmt: skip
    assert detector["answer"] == {"harmful": False, "categories": []}
    judge = next(r for r in machines if r["version"] == 2 and r["item"] == "calm_0002.jpeg")
    assert judge["usage"] == {"calls": 5, "prompt_tokens": 900, "completion_tokens": 300}


def test_the_vhd11k_export_writes_a_machine_debate_and_its_verdict(judged, tmp_path):
    export(tmp_path / "plain", "--kind", "vhd11k", "--batch", "judged")
    export(tmp_path / "v1", "--kind", "vhd11k", "--batch", "judged",
           "--arguments-from", "machine:judge@v1")  # fmt: skip
    export(tmp_path / "newest", "--kind", "vhd11k", "--batch", "judged",
           "--arguments-from", "machine:judge", "--decision-from", "machine:judge")  # fmt: skip

    def items(folder):
        release = read_release(folder)
        return {
            i.item_id: (i.label.decision, i.label.harmful_type, [a.text for a in i.label.arguments])
            for i in release.items
        }

    assert items(tmp_path / "plain")["blood_0001.jpeg"] == (
        "yes", "distressing_content", [None, None, None, None],
    )  # fmt: skip
    # Version 1 judged only the first item; the other keeps "None" arguments.
    v1 = items(tmp_path / "v1")
    assert v1["blood_0001.jpeg"] == ("yes", "distressing_content",
                                     ["harmful v1", "calm v1", "still harmful", None])  # fmt: skip
    assert v1["calm_0002.jpeg"][2] == [None, None, None, None]
    newest = items(tmp_path / "newest")
    debate = ["harmful v2", "calm v2", "still harmful", None]
    assert newest["calm_0002.jpeg"] == ("yes", "potential_for_violence", debate)
    with open(tmp_path / "newest" / "harmful_image_2_ann.csv", encoding="utf-8") as file:
        assert next(csv.reader(io.StringIO(file.readline())))[1] == "decision"


def test_unknown_machines_and_the_wrong_kind_are_refused(judged, tmp_path):
    with pytest.raises(CommandError, match="no verdict of that machine annotator"):
        export(tmp_path / "a", "--kind", "vhd11k", "--batch", "judged",
               "--arguments-from", "machine:nobody")  # fmt: skip
    with pytest.raises(CommandError, match="use them with --kind vhd11k"):
        export(tmp_path / "b", "--kind", "label", "--batch", "judged",
               "--arguments-from", "machine:judge")  # fmt: skip
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
