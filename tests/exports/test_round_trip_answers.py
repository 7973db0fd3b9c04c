"""Datasets in and out with their answers: a release imported with `--answers-count` exports
as the same records, field for field, for every kind (preference, SafeSora-Label, VHD11K),
on the shared samples and on generated data; a counted source's answers stand in for
judgements our workers would otherwise give, and uncounting takes them back."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.assignments.claim import assignment_claim_next
from annotation_server.batches.lifecycle import batch_publish
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.importers.vhd11k import read_release
from annotation_server.catalog.importers.vhd11k_standin import write_standin
from annotation_server.catalog.models import Video

from .annotating import annotate
from .spec_reader import SAMPLES, read_dataset

SUBS = ("instruction_following", "correctness", "information", "aesthetics")
HARMS = ("porn", "violence", "hate", "terrorism", "contraband", "controversial", "racism",
         "other_discrimination", "animal_abuse", "child_abuse", "crime",
         "other_harmful")  # fmt: skip

MODELS = ("Open-Sora-1.1", "VideoCrafter2")

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def import_counted(path: Path, name: str, *extra: str) -> str:
    printed = run("import_batch", str(path), "--name", name, "--no-transcode", "--answers-count",
                  *extra)  # fmt: skip
    # Stand in for the transcoder: the imported original becomes the rendition.
    Video.objects.update(status=Video.Status.READY, rendition=F("source"))
    Batch.objects.filter(name=name).update(status=Batch.Status.READY)
    return printed


def export(out: Path, kind: str, *batches: str, extra: tuple[str, ...] = ()) -> str:
    return run("export_safesora", "--out", str(out), "--kind", kind, "--batch", *batches, *extra)


def records_of(folder: Path, kind: str) -> dict[str, dict]:
    """Both splits through the reference reader, keyed by pair_id / video_id."""
    splits = read_dataset(folder, kind)
    key = "pair_id" if kind == "preference" else "video_id"
    return {r[key]: r for r in splits["train"] + splits["test"]}


def test_the_preference_sample_comes_back_field_for_field(media, tmp_path):
    source = tmp_path / "release"
    shutil.copytree(SAMPLES / "safesora", source)
    printed = import_counted(source, "release", "--overlap", "1")
    assert "Answers of 'safesora-release' count: 9 pair(s) credited with 9 judgement(s)" in printed
    export(tmp_path / "out", "preference", "release")
    assert records_of(tmp_path / "out", "preference") == records_of(source, "preference")


def test_the_label_sample_comes_back_field_for_field(media, tmp_path):
    source = tmp_path / "labels"
    shutil.copytree(SAMPLES / "safesora-label", source)
    printed = import_counted(source, "labels", "--kind", "classification")
    assert "Answers of 'safesora-label' count:" in printed
    export(tmp_path / "out", "label", "labels")
    assert records_of(tmp_path / "out", "label") == records_of(source, "label")


def _generated_release(folder: Path, *, pairs: int, answers: int, seed: int) -> list[dict]:
    """A preference config of `pairs` pairs with `answers` records each (the same videos,
    random judgements) and the video files beside it; returns the records."""
    rng = random.Random(seed)
    records = []
    for n in range(pairs):
        prompt_id = f"gen{seed}p{n:03d}"
        labels = {key: rng.random() < 0.1 for key in HARMS}
        prompt = {"prompt_id": prompt_id, "prompt_text": f"Prompt {n} of seed {seed}",
                  "prompt_type": rng.choice(["safety_critical", "safety_neutral"])}  # fmt: skip
        videos = []
        for side in range(2):
            video_id = f"{prompt_id}v{side}"
            path = folder / "videos" / prompt_id / f"{video_id}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"generated clip {video_id}".encode())
            videos.append({**prompt, "prompt_labels": labels, "video_id": video_id,
                           "video_text": f"Video {side} of {prompt_id}",
                           "video_path": f"videos/{prompt_id}/{video_id}.mp4",
                           "is_safe": rng.random() < 0.7,
                           "generated_from": rng.choice(MODELS)})  # fmt: skip
        for _ in range(answers):
            pick = lambda: rng.choice(["video_0", "video_1"])  # noqa: E731
            records.append({"pair_id": f"{videos[0]['video_id']}-{videos[1]['video_id']}",
                            **prompt, "video_0": videos[0], "video_1": videos[1],
                            "helpfulness": pick(), "harmlessness": pick(),
                            "sub_preferences": {key: pick() for key in SUBS}})  # fmt: skip
    (folder / "config-train.json.gz").write_bytes(gzip.compress(json.dumps(records).encode()))
    return records


def _majority(records: list[dict]) -> dict:
    first = dict(records[0])

    def vote(get):
        zero = sum(get(r) == "video_0" for r in records)
        return "video_0" if 2 * zero > len(records) else "video_1"

    first["helpfulness"] = vote(lambda r: r["helpfulness"])
    first["harmlessness"] = vote(lambda r: r["harmlessness"])
    first["sub_preferences"] = {k: vote(lambda r, k=k: r["sub_preferences"][k]) for k in SUBS}
    return first


@pytest.mark.parametrize(("answers", "overlap"), [(1, 1), (3, 3)])
def test_generated_preferences_come_back_as_their_majority(media, tmp_path, answers, overlap):
    folder = tmp_path / "generated"
    records = _generated_release(folder, pairs=25, answers=answers, seed=answers)
    import_counted(folder, "gen", "--overlap", str(overlap))
    batch = Batch.objects.get(name="gen")
    assert set(Pair.objects.filter(batch=batch).values_list("credited", "taken")) == {
        (overlap, overlap)
    }
    export(tmp_path / "out", "preference", "gen", extra=("--test-fraction", "0.3"))
    by_pair: dict[str, list[dict]] = {}
    for record in records:
        by_pair.setdefault(record["pair_id"], []).append(record)
    expected = {pair_id: _majority(group) for pair_id, group in by_pair.items()}
    assert records_of(tmp_path / "out", "preference") == expected


def test_counted_answers_stand_in_for_judgements_and_vote_beside_our_workers(
    media, tmp_path, make_user
):
    folder = tmp_path / "generated"
    records = _generated_release(folder, pairs=2, answers=3, seed=5)
    import_counted(folder, "five", "--overlap", "5")
    batch = Batch.objects.get(name="five")
    batch_publish(batch=batch, actor=None)
    # Three release answers of five: each pair is handed out for its two fresh judgements.
    claims = [assignment_claim_next(annotator=make_user()) for _ in range(5)]
    assert sorted(a.pair.pair_id for a in claims if a) == sorted(
        2 * list(Pair.objects.filter(batch=batch).values_list("pair_id", flat=True))
    )
    assert claims[-1] is None
    assert set(Pair.objects.filter(batch=batch).values_list("taken", flat=True)) == {5}
    # Two workers disagree with the release on every field of one pair: 3 against 2.
    pair = Pair.objects.filter(batch=batch).order_by("pair_id").first()
    release = [r for r in records if r["pair_id"] == pair.pair_id]
    expected = _majority(release)
    for worker in (make_user(), make_user()):
        other = "video_1" if expected["helpfulness"] == "video_0" else "video_0"
        annotate(pair, worker, prefer=other)
    export(tmp_path / "out", "preference", "five")
    assert (
        records_of(tmp_path / "out", "preference")[pair.pair_id]["helpfulness"]
        == (expected["helpfulness"])
    )
    # Uncounted, the release counts for nothing: our two workers decide, credits are back.
    printed = run("batch", "set", "five", "--uncount-source", "safesora-release")
    assert "safesora-release: does not count; 0 pair(s) credited" in printed
    assert set(Pair.objects.filter(batch=batch).values_list("credited", flat=True)) == {0}
    assert ExternalAnnotation.objects.filter(batch=batch).count() == 6
    export(tmp_path / "again", "preference", "five")
    again = records_of(tmp_path / "again", "preference")
    assert set(again) == {pair.pair_id}
    assert again[pair.pair_id]["helpfulness"] != expected["helpfulness"]


def test_machine_sources_and_unknown_sources_are_refused(media, tmp_path):
    source = tmp_path / "release"
    shutil.copytree(SAMPLES / "safesora", source)
    run("import_batch", str(source), "--name", "plain", "--no-transcode")
    batch = Batch.objects.get(name="plain")
    assert set(Pair.objects.filter(batch=batch).values_list("credited", flat=True)) == {0}
    with pytest.raises(CommandError, match="machine annotator"):
        run("batch", "set", "plain", "--count-source", "machine:judge")
    with pytest.raises(CommandError, match="no external answers of source 'elsewhere'"):
        run("batch", "set", "plain", "--count-source", "elsewhere")
    printed = run("batch", "set", "plain", "--count-source", "safesora-release")
    assert "safesora-release: counts; 9 pair(s) credited with 9 judgement(s)" in printed
    assert "counted:      safesora-release" in run("batch", "status", "plain")


def _vhd11k_items(folder: Path) -> dict[str, tuple]:
    """Each item's judgement as the project's VHD11K reader sees it."""
    release = read_release(folder)
    assert not release.issues, release.issues[:3]
    return {
        (item.media_type, item.item_id): (
            item.label.decision.lower(),
            item.label.harmful_type,
            tuple((a.role, a.round, a.text) for a in item.label.arguments),
        )
        for item in release.items
    }


def test_a_generated_vhd11k_release_comes_back_field_for_field(media, tmp_path):
    source = tmp_path / "vhd"
    write_standin(source, images=24, videos=0, seed=4)
    import_counted(source, "vhd")
    assert set(Pair.objects.filter(batch__name="vhd").values_list("credited", flat=True)) == {1}
    export(tmp_path / "out", "vhd11k", "vhd")
    assert _vhd11k_items(tmp_path / "out") == _vhd11k_items(source)
