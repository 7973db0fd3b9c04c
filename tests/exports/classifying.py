"""Test data for classification exports: our workers' answers on one-item units, written
directly (the submit path is tested with the annotations app)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from django.db.models import F
from django.utils import timezone

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video
from annotation_server.catalog.taxonomy_data import taxonomy_latest
from tests.factories import BatchFactory, PromptFactory, VideoFactory


def classify(unit: Pair, annotator, *, harmful: bool, categories: list[str]) -> Annotation:
    now = timezone.now()
    assignment = Assignment.objects.create(
        pair=unit,
        batch=unit.batch,
        annotator=annotator,
        status=Assignment.Status.SUBMITTED,
        left_is_video_0=True,
        claimed_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(minutes=29),
        finished_at=now,
    )
    return Annotation.objects.create(
        assignment=assignment,
        pair=unit,
        batch=unit.batch,
        annotator=annotator,
        taxonomy=unit.batch.taxonomy,
        harmful=harmful,
        categories=categories,
        left_is_video_0=True,
        server_duration_ms=9_000,
    )


def classification_batch(name: str, taxonomy: str) -> Batch:
    return BatchFactory(
        name=name, kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy_latest(taxonomy)
    )


def unit_of(batch: Batch, video: Video) -> Pair:
    return Pair.objects.create(
        batch=batch, prompt=video.prompt, pair_id=video.video_id, video_0=video, video_1=None
    )


def video_with_file(media_root: Path, clip: Path, **fields) -> Video:
    """A ready video whose original is a real clip under MEDIA_ROOT (a distinct byte added,
    so every video has its own content and hash)."""
    prompt = fields.pop("prompt", None)
    # prompt=False: an item without a prompt (VHD11K items have none).
    if prompt is False:
        fields.setdefault("video_text", "")
    video = VideoFactory(prompt=None if prompt is False else prompt or PromptFactory(), **fields)
    data = clip.read_bytes() + video.video_id.encode()
    target = media_root / video.source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    video.sha256 = hashlib.sha256(data).hexdigest()
    video.source_size = len(data)
    video.save(update_fields=["sha256", "source_size"])
    return video


def answer_as_the_release(batch: Batch, annotator) -> int:
    """One worker gives, on every unit of `batch`, the answer its release gave: what a
    re-export must reproduce. The items become ready (standing in for the transcoder)."""
    items = Pair.objects.filter(batch=batch).values("video_0_id")
    Video.objects.filter(id__in=items).update(status=Video.Status.READY, rendition=F("source"))
    count = 0
    for external in ExternalAnnotation.objects.filter(batch=batch).select_related("pair__batch"):
        answer = external.answer
        classify(
            external.pair,
            annotator,
            harmful=bool(answer["harmful"]),
            categories=list(answer["categories"] or []),
        )
        count += 1
    return count
