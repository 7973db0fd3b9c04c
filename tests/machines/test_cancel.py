"""Cancelling a running machine run: it stops within about a second, keeps what it paid
for, and a start again calls only for the rest."""

from __future__ import annotations

import pytest
from django.db import connection

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.machines.models import MachineRun
from annotation_server.machines.runs import machine_run_cancel

from .chat_server import verdict
from .test_vlm_run import run_here


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_run_stops_keeps_its_verdicts_and_goes_on_when_started_again(
    make_batch, chat_server, make_annotator, api_key
):
    def script(body, key, nth):
        if key == "item1":  # an admin cancels while the run is under way
            machine_run_cancel(MachineRun.objects.get(), by="admin")
            connection.close()  # this server thread's own, or the test database stays in use
        return verdict(False, [], delay_s=0.1)

    server = chat_server(script)
    batch = make_batch(images=24)
    annotator = make_annotator(server, concurrency=2)

    run = run_here(batch, annotator)

    assert run.status == "cancelled" and run.progress_stage == "cancelled by admin"
    stored = ExternalAnnotation.objects.filter(source="machine:test-vlm")
    assert 2 <= stored.count() < 24
    # Every call made was kept: calls under way finished and were stored, queued ones dropped.
    assert run.done == stored.count() == len(server.requests)

    again = run_here(batch, annotator)

    assert again.status == "succeeded" and again.done == 24
    assert sorted(server.keys()) == sorted(f"item{n}" for n in range(24))
