"""Label and eval configurations hold, record by record and typed, the SafeSora export's
records of the same batch (the preference one: test_hf_export.py)."""

from __future__ import annotations

import pytest
from datasets import Video, load_dataset
from django.core.management import call_command

from .spec_reader import read_dataset
from .world import build_world

SPLIT_OPTIONS = ("--test-fraction", "0.4", "--seed", "11")
# Class ids of prompt_harms / video_harms: the taxonomy's S1–S12 order.
S_ORDER = [
    "porn", "animal_abuse", "child_abuse", "crime", "controversial", "contraband", "hate",
    "violence", "racism", "other_discrimination", "terrorism", "other_harmful",
]  # fmt: skip


def _harm_ids(label: dict[str, bool]) -> list[int]:
    return [i for i, key in enumerate(S_ORDER) if label[key]]


def _as_record(row: dict, features) -> dict:
    """A loaded label or eval row turned back into its SafeSora record."""
    assert row.pop("prompt_harms") == _harm_ids(row["prompt_labels"])
    row["prompt_type"] = features["prompt_type"].int2str(row["prompt_type"])
    if "video" in row:
        assert row.pop("video") == {"bytes": None, "path": row["video_path"]}
        assert row.pop("video_harms") == _harm_ids(row["video_labels"])
    return row


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["label", "eval"])
def test_label_and_eval_rows_are_the_safesora_records(make_user, tmp_path, kind):
    build_world(make_user)
    common = ("--kind", kind, *SPLIT_OPTIONS)
    call_command("export_safesora", "--out", str(tmp_path / "json"), *common, verbosity=0)
    call_command("export_safesora", "--out", str(tmp_path / "hf"), *common, "--format", "hf",
                 verbosity=0)  # fmt: skip
    expected = read_dataset(tmp_path / "json", kind)
    loaded = load_dataset(str(tmp_path / "hf"), cache_dir=str(tmp_path / "cache"))
    assert sorted(loaded) == sorted(split for split in expected if expected[split])
    for split, dataset in loaded.items():
        if "video" in dataset.features:
            dataset = dataset.cast_column("video", Video(decode=False))
        rows = [_as_record(row, dataset.features) for row in dataset]
        assert rows == expected[split] != []
        assert list(rows[0]) == list(expected[split][0])  # the record's key order too
