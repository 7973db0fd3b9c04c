"""Importing SafeSora configs (PairDataset and VideoDataset records, .json and .json.gz)."""

from __future__ import annotations

import gzip
import json

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video

from .importing import copy_sample, media, run_import, stored_files

__all__ = ["media"]


def _records(path):
    return json.loads(gzip.decompress(path.read_bytes()))


def test_pair_dataset_keeps_its_pairs_exactly(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora")
    run_import(root / "config-train.json.gz", "pairs")

    expected = [
        (r["pair_id"], r["video_0"]["video_id"], r["video_1"]["video_id"])
        for r in _records(root / "config-train.json.gz")
    ]
    batch = Batch.objects.get(name="pairs")
    got = [(p.pair_id, p.video_0.video_id, p.video_1.video_id) for p in batch.pairs.order_by("id")]
    assert got == expected
    assert Prompt.objects.count() == 2 and Video.objects.count() == 6
    sample = _records(root / "config-train.json.gz")[0]["video_1"]
    video = Video.objects.get(video_id=sample["video_id"])
    assert (video.video_text, video.generated_from) == (
        sample["video_text"],
        sample["generated_from"],
    )
    assert video.prompt.prompt_labels == sample["prompt_labels"]
    assert len(stored_files(media)) == 6


def test_dataset_folder_imports_train_and_test_configs(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora")
    run_import(root, "all")
    assert Pair.objects.count() == 9 and Prompt.objects.count() == 3
    assert Prompt.objects.get(prompt_id="c07b5e61f2a9d834").text.startswith("一位老人")


def test_video_dataset_pairs_every_two_videos_and_keeps_prompt_labels(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora-label")
    records = _records(root / "config-train.json.gz")
    # A plain .json config with a non-trivial label, read back exactly.
    records[0]["prompt_labels"]["violence"] = True
    for r in records:
        if r["prompt_id"] == records[0]["prompt_id"]:
            r["prompt_labels"] = records[0]["prompt_labels"]
    (root / "config-train.json").write_text(json.dumps(records, indent=4, ensure_ascii=False))

    run_import(root / "config-train.json", "labels")

    assert Video.objects.count() == 6
    assert Pair.objects.count() == 6  # two prompts with three videos: 3 pairs each
    prompt = Prompt.objects.get(prompt_id=records[0]["prompt_id"])
    assert prompt.prompt_labels["violence"] is True
    first_ids = [r["video_id"] for r in records if r["prompt_id"] == prompt.prompt_id]
    assert Pair.objects.filter(pair_id=f"{first_ids[0]}-{first_ids[1]}").exists()


def test_label_dataset_fills_labels_of_prompts_imported_without(db, tmp_path, media):
    pairs_root = copy_sample(tmp_path, "safesora")
    records = _records(pairs_root / "config-train.json.gz")
    for r in records:
        for side in ("video_0", "video_1"):
            r[side].pop("prompt_labels")
    (pairs_root / "config-train.json").write_text(json.dumps(records))
    run_import(pairs_root / "config-train.json", "pairs")
    assert set(Prompt.objects.values_list("prompt_labels", flat=True)) == {None}

    run_import(copy_sample(tmp_path, "safesora-label") / "config-train.json.gz", "labels")

    assert Prompt.objects.count() == 2 and Video.objects.count() == 6
    assert all(p.prompt_labels is not None for p in Prompt.objects.all())


def test_pair_records_lend_their_prompt_fields_to_bare_video_samples(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora")
    records = _records(root / "config-train.json.gz")
    for r in records:
        for side in ("video_0", "video_1"):
            for key in ("prompt_id", "prompt_text", "prompt_type", "prompt_labels"):
                r[side].pop(key)
    (root / "config-train.json").write_text(json.dumps(records))

    run_import(root / "config-train.json", "bare")

    assert Pair.objects.count() == 6 and Video.objects.count() == 6
    prompt = Prompt.objects.get(prompt_id=records[0]["prompt_id"])
    assert prompt.text == records[0]["prompt_text"] and prompt.prompt_labels is None
