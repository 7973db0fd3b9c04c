"""Storing a machine's verdicts: each an ExternalAnnotation written with the run's counts and
cost in the same transaction, so the run's row always equals its stored verdicts. One at a
time (a VLM's, as its call ends) or a group at a time (a detector's, whose items take
milliseconds); and what a worker needs of an item's file."""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction
from django.db.models import F

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Pair

from .calls import Verdict
from .media import ItemMedia
from .models import MachineAnnotator, MachineRun


def item_media(pair: Pair) -> ItemMedia:
    video = pair.video_0
    file = video.rendition if video.rendition else video.source
    try:
        location = file.path
    except NotImplementedError:  # remote storage (S3): ffmpeg reads its URL
        location = file.url
    return ItemMedia(
        is_video=video.media_type == "video",
        location=location,
        name=file.name,
        duration_s=video.duration_s,
        prompt_text=pair.prompt.text if pair.prompt_id else "",
        video_pk=video.pk if video.media_type == "video" else None,
    )


def _row(run: MachineRun, annotator: MachineAnnotator, pair: Pair, verdict: Verdict, extra):
    details = {
        "model": annotator.model,
        "kind": annotator.kind,
        "status": verdict.status,
        "attempts": verdict.attempts,
        "usage": verdict.usage.as_dict(),
        "reason": verdict.reason,
        "problems": verdict.problems,
        "transcript": verdict.transcript,
        "run": run.pk,
    }
    if verdict.arguments is not None:
        details["arguments"] = verdict.arguments
    details.update(extra or {})
    return ExternalAnnotation(
        pair=pair,
        batch_id=pair.batch_id,
        source=annotator.source,
        source_annotator=annotator.source_annotator,
        taxonomy_id=run.batch.taxonomy_id,
        answer=verdict.answer,
        details=details,
    )


def _count(run: MachineRun, annotator: MachineAnnotator, verdicts: list[Verdict]) -> None:
    ok = sum(verdict.status == "ok" for verdict in verdicts)
    prompt = sum(verdict.usage.prompt_tokens for verdict in verdicts)
    completion = sum(verdict.usage.completion_tokens for verdict in verdicts)
    MachineRun.objects.filter(pk=run.pk).update(
        done=F("done") + ok,
        unparseable=F("unparseable") + len(verdicts) - ok,
        requests=F("requests") + sum(verdict.usage.calls for verdict in verdicts),
        prompt_tokens=F("prompt_tokens") + prompt,
        completion_tokens=F("completion_tokens") + completion,
        estimated_cost=F("estimated_cost") + annotator.cost(prompt, completion),
    )


def verdict_save(
    *,
    run: MachineRun,
    annotator: MachineAnnotator,
    pair: Pair,
    verdict: Verdict,
    extra: dict | None = None,
) -> ExternalAnnotation | None:
    """Store a verdict and add it to the run's counts and cost, in one transaction; None
    when that item already had a verdict of this version (a second delivery of the run).
    `extra` is added to its details (a detector's detections)."""
    try:
        with transaction.atomic():
            stored = _row(run, annotator, pair, verdict, extra)
            stored.save(force_insert=True)
            _count(run, annotator, [verdict])
    except IntegrityError:
        return None
    return stored


class VerdictGroup:
    """Verdicts written together, one transaction per `size` items or `seconds`, whichever
    comes first, and the rest when the block ends (also by a cancel or a failure)."""

    def __init__(self, run: MachineRun, annotator: MachineAnnotator, size=32, seconds=1.0):
        self.run, self.annotator, self.size, self.seconds = run, annotator, size, seconds
        self.pending: list[tuple[Pair, Verdict, dict | None]] = []
        self.since = time.monotonic()

    def __enter__(self) -> VerdictGroup:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()

    def add(self, pair: Pair, verdict: Verdict, extra: dict | None = None) -> None:
        self.pending.append((pair, verdict, extra))
        if len(self.pending) >= self.size or time.monotonic() - self.since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        pending, self.pending, self.since = self.pending, [], time.monotonic()
        if not pending:
            return
        run, annotator = self.run, self.annotator
        try:
            with transaction.atomic():
                ExternalAnnotation.objects.bulk_create(
                    [_row(run, annotator, pair, verdict, extra) for pair, verdict, extra in pending]
                )
                _count(run, annotator, [verdict for _, verdict, _ in pending])
        except IntegrityError:
            # Another delivery of the run stored some of them meanwhile: one at a time, each
            # item that has a verdict of this version keeps it.
            for pair, verdict, extra in pending:
                verdict_save(run=run, annotator=annotator, pair=pair, verdict=verdict, extra=extra)
