"""`manage.py simulate_batch`: bounded bulk statements, consistent counters, a short summary."""

from __future__ import annotations

import io
import math

from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from annotation_server.annotations.models import Annotation
from annotation_server.batches.models import Batch


def test_simulate_batch_writes_in_statements_of_batch_size_rows(client, db):
    out = io.StringIO()
    with CaptureQueriesContext(connection) as captured:
        call_command(
            "simulate_batch", "chunky", "--prompts", "7", "--annotators", "4", "--clickers", "1",
            "--batch-size", "3", "--password", "a-long-demo-password", "--no-progress",
            stdout=out,
        )  # fmt: skip
    batch = Batch.objects.get(name="chunky")
    annotations = batch.annotations.count()
    inserts = [
        q["sql"] for q in captured if q["sql"].startswith('INSERT INTO "annotations_annotation"')
    ]
    # Written 3 rows per statement (the flush writes everything waiting at the end).
    assert len(inserts) == math.ceil(annotations / 3)
    assert batch.pairs.count() == 14
    for pair in batch.pairs.filter(is_gold=False):
        assert pair.taken >= pair.annotations.count()
    # Submission times are the simulated ones, not the moment of the insert.
    assert (
        not Annotation.objects.filter(batch=batch)
        .exclude(created_at=F("assignment__finished_at"))
        .exists()
    )
    summary = out.getvalue()
    assert "14 pairs" in summary and f"{annotations} annotations" in summary
    assert "chunky-annotator02" not in summary  # two names to log in with, not every name
    assert client.login(username="chunky-clicker05", password="a-long-demo-password")
