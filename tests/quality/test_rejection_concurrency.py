"""Rejection racing the annotator's own submits, with real threads on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Count, Q

from annotation_server.accounts import roles
from annotation_server.annotations.models import Annotation
from annotation_server.annotations.services import annotation_submit
from annotation_server.assignments.claim import assignment_claim_next
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from annotation_server.core.exceptions import ApplicationError
from annotation_server.quality import services
from tests.factories import BatchFactory, PairFactory
from tests.quality.work import answers

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(*jobs) -> list:
    barrier = threading.Barrier(len(jobs))
    errors: list = []

    def wrap(job):
        try:
            barrier.wait()
            job()
        except ApplicationError as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_counters_stay_exact_when_a_rejection_races_submits(make_user):
    batch = BatchFactory(overlap=2)
    for _ in range(6):
        PairFactory(batch=batch)
    admin = make_user(roles.ADMIN)
    worker = make_user(roles.ANNOTATOR, username="racer")
    other = make_user(roles.ANNOTATOR, username="steady")
    for _ in range(3):
        a = assignment_claim_next(annotator=other)
        annotation_submit(annotator=other, assignment_id=a.pk, answers=answers())
    for _ in range(2):
        a = assignment_claim_next(annotator=worker)
        annotation_submit(annotator=worker, assignment_id=a.pk, answers=answers())
    # Two open assignments (current + prefetched) submitted while the admin rejects.
    pending = [
        assignment_claim_next(annotator=worker),
        assignment_claim_next(annotator=worker, prefetch=True),
    ]
    jobs = [
        lambda a=a: annotation_submit(annotator=worker, assignment_id=a.pk, answers=answers())
        for a in pending
    ]
    jobs.append(lambda: services.annotator_work_reject(batch=batch, annotator=worker, actor=admin))
    errors = _run_together(*jobs)
    # A submit that lost the race is refused with a clear message, never half-stored.
    assert all("released" in e.message for e in errors)

    assert not Annotation.objects.filter(annotator=worker, rejected=False).exists()
    assert not Assignment.objects.filter(annotator=worker).exclude(status="released").exists()
    counts = Pair.objects.filter(batch=batch).annotate(
        live=Count(
            "assignments",
            filter=Q(assignments__status__in=["open", "submitted"]),
            distinct=True,
        ),
        kept=Count("annotations", filter=Q(annotations__rejected=False), distinct=True),
    )
    for pair in counts:
        assert pair.taken == pair.live, pair.pair_id
    assert sum(p.kept for p in counts) == 3  # only the steady annotator's work remains
