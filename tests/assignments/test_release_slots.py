"""Giving slots back (expiry sweep, rejection, skips) writes a few statements, not one per pair."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from annotation_server.assignments import expiry
from annotation_server.batches.models import Pair
from tests.assignments.workload import make_batch, statements_run

pytestmark = pytest.mark.django_db


def test_release_slots_of_many_pairs_counts_each_pair_right(monkeypatch):
    monkeypatch.setattr(expiry, "_RELEASE_CHUNK", 4)
    batch, pairs = make_batch(10)
    Pair.objects.filter(batch=batch).update(taken=3)
    give_back = Counter({pair.pk: 1 for pair in pairs[:7]})
    give_back.update({pairs[0].pk: 1, pairs[8].pk: 2})  # pairs[0] → 2, pairs[8] → 2
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        expiry.release_slots(give_back)
    taken = dict(Pair.objects.filter(batch=batch).values_list("pk", "taken"))
    expected = {pair.pk: 3 - give_back.get(pair.pk, 0) for pair in pairs}
    assert taken == expected
    # 8 pairs: 2 locking reads of 4, then count 1 (6 pairs: 2 updates) and count 2 (2 pairs: 1).
    assert len(statements_run(queries.captured_queries)) == 5


def test_one_pair_is_given_back_in_one_statement():
    batch, [pair] = make_batch(1)
    Pair.objects.filter(pk=pair.pk).update(taken=2)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        expiry.release_slots(Counter({pair.pk: 1}))
    assert Pair.objects.get(pk=pair.pk).taken == 1
    assert len(statements_run(queries.captured_queries)) == 1
