"""Classification batches out as SafeSora-Label configs, from our workers' majority, and back."""

from __future__ import annotations

import gzip
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation_server.batches.models import Batch
from annotation_server.taxonomy import harm_label
from tests.catalog.importing import SAMPLES
from tests.factories import PromptFactory

from .classifying import (
    answer_as_the_release,
    classification_batch,
    classify,
    unit_of,
    video_with_file,
)

pytestmark = pytest.mark.django_db


def export(out, *batches, kind="label", **options) -> str:
    stdout = StringIO()
    args = ["--out", str(out), "--kind", kind, "--batch", *batches]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    call_command("export_safesora", *args, stdout=stdout, verbosity=0)
    return stdout.getvalue()


def records(folder) -> list[dict]:
    found = []
    for split in ("train", "test"):
        path = folder / f"config-{split}.json.gz"
        if path.exists():
            found += json.loads(gzip.decompress(path.read_bytes()))
    return sorted(found, key=lambda r: (r["prompt_id"], r["video_id"]))


def imported(folder, name, annotator):
    call_command(
        "import_batch", str(folder), "--name", name, "--kind", "classification",
        "--no-transcode", stdout=StringIO(),
    )  # fmt: skip
    return answer_as_the_release(Batch.objects.get(name=name), annotator)


@pytest.fixture
def small_batch(make_user, media_root, clip):
    """Two prompts, four videos, three workers: one video judged violent by two of three,
    one flagged by one worker only (safe by majority), the others safe."""
    batch = classification_batch("cls", "safesora")
    violent = PromptFactory(
        prompt_id="pviolent01", text="Two men fighting with knives.",
        prompt_type="safety_critical", prompt_labels=harm_label(["violence"]),
    )  # fmt: skip
    calm = PromptFactory(
        prompt_id="pcalm00002", text="一位老人在公园里打太极拳。",
        prompt_type="safety_neutral", prompt_labels=harm_label(),
    )  # fmt: skip
    videos = [video_with_file(media_root, clip, prompt=p) for p in (violent, violent, calm, calm)]
    workers = [make_user() for _ in range(3)]
    answers = [
        [["violence"], ["violence", "crime"], []],
        [[], [], []],
        [["hate"], [], []],
        [[], [], []],
    ]
    for video, given in zip(videos, answers, strict=True):
        unit = unit_of(batch, video)
        for worker, categories in zip(workers, given, strict=True):
            classify(unit, worker, harmful=bool(categories), categories=categories)
    return batch, videos


def test_a_classification_batch_exports_its_majority_as_video_samples(small_batch, tmp_path):
    batch, videos = small_batch
    out = tmp_path / "label"
    summary = export(out, "cls", videos="copy", test_fraction=0.0)
    assert "label: 4 train, 0 test records" in summary and "test split: no records" in summary
    found = records(out)
    assert len(found) == 4
    by_id = {r["video_id"]: r for r in found}
    first = by_id[videos[0].video_id]
    assert first["video_labels"] == harm_label(["violence"]) and first["is_safe"] is False
    assert list(first) == [
        "prompt_id", "prompt_text", "prompt_type", "prompt_labels", "video_id", "video_text",
        "video_path", "is_safe", "video_labels", "generated_from",
    ]  # fmt: skip
    assert by_id[videos[2].video_id]["is_safe"] is True  # one worker of three saw hate
    assert by_id[videos[2].video_id]["prompt_text"] == "一位老人在公园里打太极拳。"
    for record in found:
        assert (out / record["video_path"]).read_bytes().startswith(b"\x00\x00\x00")


def test_the_export_imports_and_exports_to_the_same_records(small_batch, tmp_path, make_user):
    first, second = tmp_path / "first", tmp_path / "second"
    export(first, "cls", videos="copy", test_fraction=0.5, seed=3)
    imported(first, "again", make_user())
    export(second, "again", videos="copy", test_fraction=0.5, seed=3)
    assert records(second) == records(first)
    for name in ("config-train.json.gz", "config-test.json.gz"):
        assert (first / name).exists() == (second / name).exists()
        if (first / name).exists():
            assert (first / name).read_bytes() == (second / name).read_bytes()


def test_the_shared_sample_round_trips_field_for_field(tmp_path, make_user, media_root):
    imported(SAMPLES / "safesora-label", "sample", make_user())
    out = tmp_path / "out"
    export(out, "sample", videos="copy")
    assert records(out) == records(SAMPLES / "safesora-label")
    for record in records(out):
        assert (out / record["video_path"]).read_bytes() == (
            SAMPLES / "safesora-label" / record["video_path"]
        ).read_bytes()


def test_a_batch_without_what_the_format_needs_is_refused_by_name(
    make_user, media_root, clip, tmp_path
):
    batch = classification_batch("nogen", "safesora")
    prompt = PromptFactory(prompt_labels=harm_label())
    video = video_with_file(media_root, clip, prompt=prompt, generated_from="")
    classify(unit_of(batch, video), make_user(), harmful=False, categories=[])
    with pytest.raises(CommandError, match="generated_from: 1 item"):
        export(tmp_path / "x", "nogen")
    other = classification_batch("vhd", "vhd11k")
    with pytest.raises(CommandError, match="video_labels: .*'vhd'.*--kind vhd11k"):
        export(tmp_path / "y", "vhd")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert other.pk
