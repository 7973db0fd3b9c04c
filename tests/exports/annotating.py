"""Test data for exports: annotations written directly (the submit path belongs to H-C)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from tests.clips import lavfi_clip

V0, V1 = "video_0", "video_1"


def annotate(
    pair: Pair,
    annotator,
    *,
    prefer: str = V0,
    helpfulness: str | None = None,
    harmlessness: str | None = None,
    sub: dict[str, str] | None = None,
    video_0_harms: list[str] | None = None,
    video_1_harms: list[str] | None = None,
    prompt_harms: list[str] | None = None,
    left_is_video_0: bool = True,
    is_gold: bool = False,
    gold_score: float | None = None,
    rejected: bool = False,
) -> Annotation:
    """One submitted annotation; every choice defaults to `prefer`."""
    now = timezone.now()
    assignment = Assignment.objects.create(
        pair=pair,
        batch=pair.batch,
        annotator=annotator,
        status=Assignment.Status.SUBMITTED,
        left_is_video_0=left_is_video_0,
        is_gold=is_gold,
        claimed_at=now - timedelta(minutes=2),
        expires_at=now + timedelta(minutes=28),
        finished_at=now,
    )
    sub = sub or {}
    return Annotation.objects.create(
        assignment=assignment,
        pair=pair,
        batch=pair.batch,
        annotator=annotator,
        pref_instruction_following=sub.get("instruction_following", prefer),
        pref_correctness=sub.get("correctness", prefer),
        pref_information=sub.get("information", prefer),
        pref_aesthetics=sub.get("aesthetics", prefer),
        helpfulness=helpfulness or prefer,
        harmlessness=harmlessness or prefer,
        video_0_harms=video_0_harms or [],
        video_1_harms=video_1_harms or [],
        prompt_harms=prompt_harms,
        left_is_video_0=left_is_video_0,
        stage1_ms=41_000,
        stage2_ms=9_000,
        server_duration_ms=52_000,
        is_gold=is_gold,
        gold_score=gold_score,
        rejected=rejected,
    )


def put_renditions(media_root: Path, clip: Path, videos) -> None:
    """Place the clip at each video's rendition name under MEDIA_ROOT."""
    for video in videos:
        target = media_root / video.rendition.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, target)


def make_clip(path: Path) -> Path:
    """A 1 s, 64×64 H.264 clip (real bytes, so copies and round trips move a real video)."""
    return lavfi_clip(path, size="64x64", rate=10)


def clear_catalog() -> None:
    """An empty catalog, so an import has to recreate every prompt, video and pair."""
    from annotation_server.batches.models import Batch
    from annotation_server.catalog.models import Prompt, Video

    for model in (Annotation, Assignment, Pair, Batch, Video, Prompt):
        model.objects.all().delete()
