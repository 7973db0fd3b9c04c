"""A machine run through a real Celery worker on the `machines` queue: killed mid-way, it
resumes (beat's recovery sweep queues it again) without calling again for finished items."""

from __future__ import annotations

import pytest

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.core.jobs import job_recover_stalled
from annotation_server.machines.models import MachineRun
from annotation_server.machines.runs import KIND, machine_run_start
from tests.celery_worker import wait_until

from .chat_server import verdict


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_killed_run_resumes_without_paying_twice_for_finished_items(
    make_batch, chat_server, make_annotator, machines_worker_factory
):
    server = chat_server(lambda body, key, nth: verdict(True, ["violence"], delay_s=0.3))
    batch = make_batch(images=6)
    annotator = make_annotator(server, concurrency=1)
    worker = machines_worker_factory()

    run = machine_run_start(batch=batch, annotator=annotator)  # queued at once (autocommit)

    rows = MachineRun.objects.filter(pk=run.pk)
    wait_until(lambda: rows.get().done >= 2, timeout=120, what="two verdicts")
    worker.kill()
    finished_before = set(
        ExternalAnnotation.objects.filter(batch=batch).values_list("pair__prompt__text", flat=True)
    )
    assert rows.get().status == "running"
    # What beat's sweep does every few minutes: once PostgreSQL has seen the dead worker's
    # connection close (a moment after the kill) its lock is free, so the run goes back to
    # pending and is queued again (to the machines queue).
    requeued: list[int] = []
    wait_until(
        lambda: requeued.extend(job_recover_stalled(KIND)["requeued"]) or requeued,
        timeout=30,
        what="the recovery sweep to requeue the run",
    )
    assert requeued == [run.pk]
    machines_worker_factory()
    wait_until(lambda: rows.get().finished, timeout=120, what="the run to finish")

    run = rows.get()
    assert run.status == "succeeded", run.error
    assert (run.done, run.unparseable, run.failed, run.attempts) == (6, 0, 0, 2)
    keys = server.keys()
    for key in finished_before:
        assert keys.count(key) == 1, key
    # At most the one call under way when the worker died was made twice.
    assert 6 <= len(keys) <= 7
    stored = ExternalAnnotation.objects.filter(source="machine:test-vlm", source_annotator="v1")
    assert stored.count() == 6
    # The run's counts are the stored verdicts': a lost call is not counted.
    assert run.requests == 6 and run.prompt_tokens == 600
