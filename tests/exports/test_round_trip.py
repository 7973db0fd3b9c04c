"""Export → import_batch (H-A's importer) → the same answers → export: identical records."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import F

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video

from .annotating import annotate, put_renditions
from .spec_reader import read_dataset
from .world import build_world

ANSWER_FIELDS = (
    "pref_instruction_following",
    "pref_correctness",
    "pref_information",
    "pref_aesthetics",
    "helpfulness",
    "harmlessness",
    "video_0_harms",
    "video_1_harms",
)


@pytest.mark.django_db
def test_an_exported_preference_dataset_imports_and_exports_to_the_same_records(
    make_user, media_root, clip, tmp_path
):
    world = build_world(make_user)
    put_renditions(media_root, clip, world.videos)
    first = tmp_path / "first"
    options = ("--test-fraction", "0.4", "--seed", "11")
    call_command("export_safesora", "--out", str(first), "--videos", "copy", *options, verbosity=0)
    before = read_dataset(first, "preference", videos=True)

    answers = [
        (a.pair.pair_id, a.annotator, {f: getattr(a, f) for f in ANSWER_FIELDS})
        for a in Annotation.objects.select_related("pair", "annotator")
    ]
    # A fresh catalog: the import has to recreate every prompt, video and pair from the files.
    Annotation.objects.all().delete()
    Assignment.objects.all().delete()
    Pair.objects.all().delete()
    Batch.objects.all().delete()
    Video.objects.all().delete()
    Prompt.objects.all().delete()

    call_command("import_batch", str(first), "--name", "reimported", verbosity=0)
    # Stand in for the transcoder: the imported source becomes the rendition.
    Video.objects.update(status=Video.Status.READY, rendition=F("source"))
    pairs = {p.pair_id: p for p in Pair.objects.filter(batch__name="reimported")}
    assert set(pairs) == {r["pair_id"] for r in before["train"] + before["test"]}
    for pair_id, annotator, fields in answers:
        sub = {
            key: fields[f"pref_{key}"]
            for key in ("instruction_following", "correctness", "information", "aesthetics")
        }
        annotate(
            pairs[pair_id],
            annotator,
            sub=sub,
            helpfulness=fields["helpfulness"],
            harmlessness=fields["harmlessness"],
            video_0_harms=fields["video_0_harms"],
            video_1_harms=fields["video_1_harms"],
        )

    second = tmp_path / "second"
    call_command(
        "export_safesora",
        "--out",
        str(second),
        "--videos",
        "copy",
        "--batch",
        "reimported",
        *options,
        verbosity=0,
    )
    after = read_dataset(second, "preference", videos=True)
    assert after == before
    for name in ("config-train.json.gz", "config-test.json.gz"):
        assert (second / name).read_bytes() == (first / name).read_bytes()


@pytest.mark.django_db
def test_an_exported_label_dataset_imports_and_exports_to_the_same_records(
    make_user, media_root, clip, tmp_path
):
    world = build_world(make_user)
    put_renditions(media_root, clip, world.videos)
    first = tmp_path / "first"
    options = ("--kind", "label", "--test-fraction", "0.4", "--seed", "2")
    call_command("export_safesora", "--out", str(first), "--videos", "copy", *options,
                 verbosity=0)  # fmt: skip
    before = read_dataset(first, "label", videos=True)
    labels = {r["video_id"]: r["video_labels"] for r in before["train"] + before["test"]}
    assert not all(r["is_safe"] for r in before["train"] + before["test"])

    Annotation.objects.all().delete()
    Assignment.objects.all().delete()
    Pair.objects.all().delete()
    Batch.objects.all().delete()
    Video.objects.all().delete()
    Prompt.objects.all().delete()

    call_command("import_batch", str(first), "--name", "relabelled", verbosity=0)
    Video.objects.update(status=Video.Status.READY, rendition=F("source"))
    # Judge every imported pair the way the exported labels say.
    for pair in Pair.objects.filter(batch__name="relabelled").select_related("video_0", "video_1"):
        harms = [
            [k for k, v in labels[video.video_id].items() if v]
            for video in (pair.video_0, pair.video_1)
        ]
        for user in world.annotators:
            annotate(pair, user, video_0_harms=harms[0], video_1_harms=harms[1])

    second = tmp_path / "second"
    call_command("export_safesora", "--out", str(second), "--videos", "copy",
                 "--batch", "relabelled", *options, verbosity=0)  # fmt: skip
    assert read_dataset(second, "label", videos=True) == before
