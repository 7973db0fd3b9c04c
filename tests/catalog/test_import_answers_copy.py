"""On PostgreSQL a release's judgements are written with `COPY` (annotations/external_copy.py);
the rows must be the ones the plain `bulk_create` writes, field for field."""

from __future__ import annotations

import functools
import gzip
import json

import pytest
from django.db import IntegrityError, transaction

from annotation_server.annotations.external_copy import external_labels_copy
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.annotations.services import external_labels_write
from annotation_server.batches import import_common, import_rows
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video

from .importing import copy_sample, media, run_import

__all__ = ["media"]


def _rows(name: str) -> list[tuple]:
    return [
        (e.pair.pair_id, e.source, e.source_annotator, e.taxonomy_id, e.answer, e.details)
        for e in ExternalAnnotation.objects.filter(batch__name=name)
        .select_related("pair")
        .order_by("id")
    ]


def test_copy_and_bulk_create_write_the_same_annotations(db, tmp_path, media, monkeypatch):
    root = copy_sample(tmp_path, "safesora")
    records = json.loads(gzip.decompress((root / "config-train.json.gz").read_bytes()))
    # Text COPY escapes backslashes, tabs and newlines itself: JSON full of them comes back whole.
    records[0]["note"] = 'a "quoted" \\ back\\slash\ttab\nnewline é 😀 \\N'
    records[1]["prompt_text"] = records[1]["prompt_text"] + " \\ \t\r\n"
    config = root / "release.json"
    config.write_text(json.dumps(records, indent=2, ensure_ascii=False))
    run_import(config, "copied")
    monkeypatch.setattr(
        import_common,
        "_external_labels_writers",
        [functools.partial(external_labels_write, copy=False)],
    )
    run_import(config, "created")
    copied, created = _rows("copied"), _rows("created")
    assert len(copied) == len(records)
    assert copied == created
    assert [row[5]["record"] for row in copied] == records
    assert not ExternalAnnotation.objects.filter(created_at__isnull=True).exists()


def test_copying_an_annotation_twice_is_refused_as_a_constraint_violation(db, tmp_path, media):
    run_import(copy_sample(tmp_path, "safesora") / "config-train.json.gz", "release")
    batch = Batch.objects.get(name="release")
    kept = ExternalAnnotation.objects.filter(batch=batch).order_by("id")[0]
    labels = [(kept.pair_id, kept.answer, kept.details)]
    with pytest.raises(IntegrityError), transaction.atomic():
        external_labels_copy(batch, kept.taxonomy, kept.source, labels)
    assert ExternalAnnotation.objects.filter(batch=batch).count() == len(
        json.loads(gzip.decompress((tmp_path / "safesora" / "config-train.json.gz").read_bytes()))
    )


def _catalog_rows() -> dict[str, list[tuple]]:
    """Every imported prompt, video and pair, field for field, without ids and times."""
    skip = {"id", "uid", "created_at", "updated_at", "status_changed_at"}

    def rows(model, key, **related):
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
        names = [n for n in names if n not in related] + list(related.values())
        return sorted(model.objects.values_list(*names), key=lambda row: str(row[key]))

    return {
        "prompts": rows(Prompt, 0),
        "videos": rows(Video, 0, prompt_id="prompt__prompt_id"),
        "pairs": rows(
            Pair, 0, batch_id="batch__overlap", prompt_id="prompt__prompt_id",
            video_0_id="video_0__video_id", video_1_id="video_1__video_id",
        ),
    }  # fmt: skip


def test_copy_and_bulk_create_write_the_same_catalog_rows(db, tmp_path, media, monkeypatch):
    root = copy_sample(tmp_path, "safesora")
    config = root / "config-train.json.gz"
    run_import(config, "copied")
    copied = _catalog_rows()
    Batch.objects.all().delete()
    Video.objects.all().delete()
    Prompt.objects.all().delete()
    monkeypatch.setattr(import_rows, "rows_copy_enabled", False)
    run_import(config, "created")
    created = _catalog_rows()
    assert copied["pairs"] and copied["videos"] and copied["prompts"]
    assert copied == created
    video = Video.objects.order_by("id")[0]
    assert video.uid and video.created_at and video.status_changed_at
    # The sequence moved past the copied ids: a later plain insert gets a free id.
    assert Prompt.objects.create(prompt_id="later", text="t", prompt_type="safety_neutral").pk
