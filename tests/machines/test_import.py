"""Precomputed machine labels (JSONL) imported as verdicts of a named machine annotator."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotation_server.annotations.models import ExternalAnnotation

pytestmark = pytest.mark.django_db


def write(path, *records) -> str:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records))
    return str(path)


def test_labels_import_in_our_terms_with_the_rest_kept(make_batch, tmp_path, capsys):
    batch = make_batch(images=3)
    file = write(
        tmp_path / "gpt.jsonl",
        {"item": f"{batch.name}-item0", "harmful": True, "categories": ["drugs", "violence"],
         "arguments": {"affirmative": ["a"], "negative": ["n"]}, "model": "gpt-4v"},
        {"item": f"{batch.name}-item1", "harmful": False, "categories": [], "reason": "calm"},
        {"item": f"{batch.name}-item2", "harmful": None, "categories": None, "raw": "refused"},
    )  # fmt: skip

    call_command("machine_import", batch.name, "gpt4v-debate", file, "--label", "vhd11k")

    rows = {
        row.pair.pair_id: row
        for row in ExternalAnnotation.objects.filter(source="machine:gpt4v-debate")
    }
    first = rows[f"{batch.name}-item0"]
    assert first.answer == {"harmful": True, "categories": ["violence", "drugs"]}
    assert first.source_annotator == "vhd11k" and first.taxonomy_id == batch.taxonomy_id
    assert first.details["arguments"] == {"affirmative": ["a"], "negative": ["n"]}
    assert first.details["model"] == "gpt-4v" and first.details["status"] == "ok"
    assert rows[f"{batch.name}-item2"].answer == {"harmful": None, "categories": None}
    assert rows[f"{batch.name}-item2"].details["status"] == "unparseable"
    assert "3 imported (1 unparseable in the file), 0 already there" in capsys.readouterr().out

    call_command("machine_import", batch.name, "gpt4v-debate", file, "--label", "vhd11k")
    assert ExternalAnnotation.objects.count() == 3
    assert "0 imported" in capsys.readouterr().out


def test_a_file_with_problems_is_refused_whole_with_each_line(make_batch, tmp_path):
    batch = make_batch(images=2)
    file = write(
        tmp_path / "bad.jsonl",
        {"item": f"{batch.name}-item0", "harmful": True, "categories": ["violence"]},
        {"item": "elsewhere", "harmful": True, "categories": []},
        "{not json",
        {"item": f"{batch.name}-item1", "harmful": False, "categories": ["gore"]},
        {"item": f"{batch.name}-item0", "harmful": "yes", "categories": None},
    )

    with pytest.raises(CommandError) as refused:
        call_command("machine_import", batch.name, "other", file)

    message = str(refused.value)
    assert "4 problems" in message
    assert "line 2: item 'elsewhere' is not in the batch" in message
    assert "line 3: not JSON" in message
    assert 'line 4: "categories" has keys the taxonomy lacks: gore' in message
    assert "line 5: item" in message and "appears twice" in message
    assert not ExternalAnnotation.objects.exists()
