"""Machine runs: one annotator version over one classification batch, as a core.jobs job on
the `machines` queue (annotation_server/celery.py routes it there).

A run calls only for items without a verdict of its version, so a run started again after a
kill, a cancel or failed calls pays for nothing twice. A detector runs its model in the
job's own process, one item after another, its session loaded once per run. For the other
kinds, worker threads (the annotator's
`concurrency`) do the calls and the frame extraction; the job's own thread makes every query
and writes each verdict together with the run's counters in one transaction, so the row's
counts and costs always match the stored verdicts."""

from __future__ import annotations

import logging
import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing

from django.conf import settings
from django.db import transaction
from django.db.models import F

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import (
    JobCancelled,
    JobFailed,
    JobKind,
    JobStatus,
    Progress,
    job_cancel,
    job_enqueue,
)

from . import calls, prompts
from .calls import Asking, CallFailed, Endpoint, EndpointRefused
from .debate import debate_verdict

try:
    from .detector import detector_load, detector_verdict
except ImportError as missing:  # the optional `detector` extra (its model is AGPL-3.0)
    DETECTOR_MISSING = (
        f"the offline detector is not installed here ({missing}); install the extra: "
        "pip install '.[detector]' (Docker image: --build-arg EXTRAS=s3,detector)"
    )
else:
    DETECTOR_MISSING = ""
from .detector_mapping import Rule, mapping_for
from .examples import category_problem, examples_load
from .limits import endpoint_gate, endpoint_key
from .media import MediaUnavailable
from .models import MachineAnnotator, MachineRun
from .pacing import EndpointGate
from .prompts import Question
from .verdicts import VerdictGroup, item_media, verdict_save
from .vlm import vlm_verdict

logger = logging.getLogger(__name__)

KIND = "machine_run"
RUNNABLE_KINDS = (
    MachineAnnotator.Kind.VLM,
    MachineAnnotator.Kind.DEBATE,
    MachineAnnotator.Kind.DETECTOR,
)


def machine_run_start(
    *, batch: Batch, annotator: MachineAnnotator, queue: bool = True
) -> MachineRun:
    """The run of this annotator version on this batch, queued to start (or go on). A run
    already pending or running is left as it is; a finished one is queued again and calls
    only for items it has no verdict on. `queue=False` leaves a pending run for the caller
    to execute in its own process (`machine_run --here`)."""
    if batch.kind != Batch.Kind.CLASSIFICATION or batch.taxonomy_id is None:
        raise ApplicationError(
            f"Batch {batch.name!r} is not a classification batch: machines answer the "
            "question of a classification batch only."
        )
    if annotator.kind not in RUNNABLE_KINDS:
        raise ApplicationError(f"{annotator}: the {annotator.kind} kind cannot run yet.")
    if annotator.kind == MachineAnnotator.Kind.DETECTOR and DETECTOR_MISSING:
        raise ApplicationError(f"{annotator}: {DETECTOR_MISSING}.")
    if annotator.kind == MachineAnnotator.Kind.DETECTOR:
        try:
            detector_rule(annotator, batch)
        except ValueError as error:
            raise ApplicationError(f"{annotator} on {batch.name!r}: {error}") from error
    problem = examples_fit(annotator, batch)
    if problem:
        raise ApplicationError(f"{annotator} on {batch.name!r}: {problem}.")
    with transaction.atomic():
        run, created = MachineRun.objects.select_for_update().get_or_create(
            batch=batch, annotator=annotator
        )
        if not created and not run.finished:
            return run
        if not created:
            run.status, run.error, run.finished_at = JobStatus.PENDING, "", None
            run.progress_stage = "queued again"
            run.save(update_fields=["status", "error", "finished_at", "progress_stage"])
        if queue:
            job_enqueue(KIND, run.pk)
    return run


def machine_run_cancel(run: MachineRun, *, by: str = "") -> bool:
    """Cancel a pending or running run; calls under way finish and are kept."""
    return job_cancel(KIND, run.pk, by=by)


def batch_question(batch: Batch) -> Question:
    return Question(
        categories=tuple(batch.taxonomy.categories),
        ask_harmful=batch.ask_harmful,
        ask_categories=batch.ask_categories,
    )


def detector_rule(annotator: MachineAnnotator, batch: Batch) -> Rule:
    """The annotator's mapping (or the built-in one) checked against the batch's taxonomy;
    ValueError saying what does not fit."""
    taxonomy = batch.taxonomy
    keys = [category["key"] for category in taxonomy.categories]
    mapping = mapping_for(annotator.detector, annotator.detector_mapping, taxonomy.name, keys)
    return Rule(mapping, annotator.detector_threshold, annotator.detector_unsure_band)


def examples_fit(annotator: MachineAnnotator, batch: Batch) -> str | None:
    """Why the annotator's examples do not fit the batch's taxonomy, None when they do."""
    keys = [category["key"] for category in batch.taxonomy.categories]
    return category_problem(annotator.examples, keys) if annotator.examples else None


def annotator_endpoint(annotator: MachineAnnotator) -> Endpoint:
    api_key = os.environ.get(annotator.api_key_env)
    if not api_key:
        raise JobFailed(
            f"The environment variable {annotator.api_key_env}, which holds the key of "
            f"{annotator}, is not set on the worker."
        )
    return Endpoint(
        base_url=annotator.base_url,
        model=annotator.model,
        api_key=api_key,
        temperature=annotator.temperature,
        max_tokens=annotator.max_tokens,
        timeout_s=annotator.request_timeout_s,
        transport_retries=annotator.transport_retries,
        max_attempts=annotator.max_attempts,
    )


def annotator_gate(annotator: MachineAnnotator) -> EndpointGate:
    """The endpoint's limits, shared by every run on it through the broker's Redis when the
    broker is Redis (production, tests), else within this run (the embedded setup)."""
    broker = settings.CELERY_BROKER_URL
    shared = broker.startswith(("redis://", "rediss://", "unix://"))
    return endpoint_gate(
        key=endpoint_key(annotator.base_url, annotator.model, annotator.api_key_env),
        requests_per_minute=annotator.requests_per_minute,
        tokens_per_minute=annotator.tokens_per_minute,
        concurrency=annotator.endpoint_concurrency,
        redis_url=broker if shared else None,
    )


def run_examples(annotator: MachineAnnotator, question: Question) -> tuple[dict, ...]:
    """The in-context examples' turns, their files read once per run; the run fails saying
    which example cannot be used."""
    if not annotator.examples:
        return ()
    try:
        loaded = examples_load(annotator.examples, str(settings.MEDIA_ROOT))
    except (ValueError, OSError) as error:
        raise JobFailed(f"{annotator}: its examples cannot be used: {error}") from error
    return tuple(prompts.example_turns(loaded, question))


ASKERS = {MachineAnnotator.Kind.VLM: vlm_verdict, MachineAnnotator.Kind.DEBATE: debate_verdict}


def _todo(run: MachineRun, progress: Progress) -> tuple[list[Pair], int, int]:
    """The items without a verdict of the run's version, the batch's count, and how many
    are done."""
    annotator = run.annotator
    given = ExternalAnnotation.objects.filter(
        batch=run.batch, source=annotator.source, source_annotator=annotator.source_annotator
    ).values("pair_id")
    units = Pair.objects.filter(batch=run.batch)
    todo = list(units.exclude(pk__in=given).select_related("video_0", "prompt").order_by("pk"))
    total = units.count()
    # Failures are counted afresh each pass: their items are called again.
    MachineRun.objects.filter(pk=run.pk).update(failed=0)
    progress("annotating", total - len(todo), total)
    return todo, total, total - len(todo)


def _summary(run: MachineRun) -> dict:
    run.refresh_from_db()
    return {
        "summary": {"done": run.done, "unparseable": run.unparseable, "failed": run.failed},
    }


def _detector_work(run: MachineRun, progress: Progress) -> dict:
    annotator, batch = run.annotator, run.batch
    try:
        rule = detector_rule(annotator, batch)
    except ValueError as error:
        raise JobFailed(f"{annotator} on {batch.name!r}: {error}") from error
    question = batch_question(batch)
    todo, total, finished = _todo(run, progress)
    # concurrency: onnxruntime's threads for one item (items go one after another).
    if DETECTOR_MISSING:  # a worker built without the extra: the run fails saying so
        raise ApplicationError(f"{annotator}: {DETECTOR_MISSING}.")
    detector = detector_load(annotator.detector, threads=annotator.concurrency)
    # Verdicts are written a group at a time: a transaction per item cost a sixth of a model
    # call (bench_detector.py). A cancel keeps the group; a killed worker loses at most it.
    with VerdictGroup(run, annotator) as group:
        for pair in todo:
            try:
                verdict, extra = detector_verdict(
                    detector, rule, question, item_media(pair),
                    frames=annotator.frames_per_video, selection=annotator.frame_selection,
                )  # fmt: skip
            except MediaUnavailable as error:
                logger.warning("%s: no verdict on %s: %s", annotator, pair.pair_id, error)
                MachineRun.objects.filter(pk=run.pk).update(failed=F("failed") + 1)
            else:
                group.add(pair, verdict, extra)
            finished += 1
            progress("annotating", finished, total)
    return _summary(run)


def _work(run: MachineRun, progress: Progress) -> dict:
    annotator, batch = run.annotator, run.batch
    if annotator.kind == MachineAnnotator.Kind.DETECTOR:
        return _detector_work(run, progress)
    endpoint = annotator_endpoint(annotator)
    question = batch_question(batch)
    problem = examples_fit(annotator, batch)
    if problem:
        raise JobFailed(f"{annotator} on {batch.name!r}: {problem}.")
    examples = run_examples(annotator, question)
    todo, total, finished = _todo(run, progress)
    gate, ask = annotator_gate(annotator), ASKERS[annotator.kind]
    asking = Asking(annotator, calls.endpoint_client(endpoint), endpoint, question, gate, examples)
    media = {pair.pk: item_media(pair) for pair in todo}
    pending = iter(todo)
    in_flight: dict[Future, Pair] = {}
    pool = ThreadPoolExecutor(annotator.concurrency, thread_name_prefix="machine")
    with pool, closing(gate):

        def fill() -> None:
            for pair in pending:
                in_flight[pool.submit(ask, asking, media[pair.pk])] = pair
                if len(in_flight) >= 2 * annotator.concurrency:
                    return

        fill()
        try:
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    _record(run, annotator, in_flight.pop(future), future)
                    finished += 1
                progress("annotating", finished, total)
                fill()
        except (JobCancelled, JobFailed):
            _drain(run, annotator, in_flight)
            raise
    return _summary(run)


def _drain(run: MachineRun, annotator: MachineAnnotator, in_flight: dict) -> None:
    """Stop: calls not started are dropped, calls under way are waited for and kept (they
    are paid for)."""
    for future in list(in_flight):
        if future.cancel():
            in_flight.pop(future)
    for future in list(in_flight):
        try:
            _record(run, annotator, in_flight.pop(future), future)
        except JobFailed:
            pass


def _record(run: MachineRun, annotator: MachineAnnotator, pair: Pair, future: Future) -> None:
    try:
        verdict = future.result()
    except EndpointRefused as error:
        raise JobFailed(f"{annotator.base_url} refused the calls: {error}") from error
    except (CallFailed, MediaUnavailable) as error:
        logger.warning("%s: no verdict on %s: %s", annotator, pair.pair_id, error)
        MachineRun.objects.filter(pk=run.pk).update(failed=F("failed") + 1)
        return
    verdict_save(run=run, annotator=annotator, pair=pair, verdict=verdict, extra=verdict.extra)


MACHINE_RUN_JOB = JobKind(
    name=KIND,
    model=MachineRun,
    work=_work,
    label="machine run",
    again="Start the run again: it calls only for items without a verdict.",
)
