"""Credited judgements (batches/credits.py): a credited pair is handed out only for what it
still lacks, progress counts only what is needed, and credits replace each other."""

from __future__ import annotations

import pytest

from annotation_server.annotations.services import pair_mark_gold
from annotation_server.assignments.models import Assignment
from annotation_server.batches.credits import batch_credits_clear, pair_credits_set
from annotation_server.batches.models import Pair
from annotation_server.quality.selectors import batch_progress_list
from tests.assignments.workload import LABEL, NEXT, client_for, make_batch, make_items, submit

pytestmark = pytest.mark.django_db


def _claims_until_empty(users) -> list[str]:
    """Each user claims and submits until the API says there is nothing left (204)."""
    pair_ids = []
    for user in users:
        client = client_for(user)
        while (response := client.post(NEXT, {}, format="json")).status_code == 200:
            body = response.json()
            assignment = Assignment.objects.get(pk=body["id"])
            pair_ids.append(assignment.pair.pair_id)
            assert submit(client, body["id"], LABEL).status_code == 201
        assert response.status_code == 204
    return pair_ids


def test_a_credited_item_gets_only_the_judgements_it_lacks(make_user):
    batch, items = make_items(3, overlap=3)
    full, partial, fresh = items
    assert pair_credits_set(batch, {full.pk: 3, partial.pk: 2}) == 2

    handed_out = _claims_until_empty([make_user() for _ in range(4)])

    assert handed_out.count(full.pair_id) == 0
    assert handed_out.count(partial.pair_id) == 1
    assert handed_out.count(fresh.pair_id) == 3
    [progress] = batch_progress_list(batches=[batch])
    assert (progress.needed, progress.done, progress.complete_pairs) == (4, 4, 3)
    assert progress.percent == 100.0


def test_credits_replace_each_other_and_clear_without_touching_answers(make_user):
    batch, [pair] = make_items(1, overlap=2)
    client = client_for(make_user())
    body = client.post(NEXT, {}, format="json").json()
    assert submit(client, body["id"], LABEL).status_code == 201
    pair_credits_set(batch, {pair.pk: 5})  # clamped to the overlap
    pair.refresh_from_db()
    assert (pair.taken, pair.credited) == (3, 2)
    pair_credits_set(batch, {pair.pk: 1})
    pair.refresh_from_db()
    assert (pair.taken, pair.credited) == (2, 1)
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 204

    assert batch_credits_clear(batch) == 1
    pair.refresh_from_db()
    assert (pair.taken, pair.credited) == (1, 0)
    assert pair.batch.annotations.count() == 1
    assert client_for(make_user()).post(NEXT, {}, format="json").status_code == 200


def test_credits_leave_gold_and_other_batches_alone(make_user):
    batch, [gold, regular] = make_batch(2, overlap=2)
    other, [elsewhere] = make_batch(1, overlap=2)
    pair_mark_gold(pair=gold, answer={"helpfulness": "video_0", "harmlessness": "video_1"})
    assert pair_credits_set(batch, {gold.pk: 2, regular.pk: 2, elsewhere.pk: 2}) == 1
    assert list(Pair.objects.filter(credited__gt=0)) == [regular]


def test_marking_a_credited_pair_gold_drops_its_credit():
    batch, [pair] = make_batch(1, overlap=2)
    pair_credits_set(batch, {pair.pk: 2})
    pair_mark_gold(pair=pair, answer={"helpfulness": "video_0", "harmlessness": "video_1"})
    pair.refresh_from_db()
    assert (pair.is_gold, pair.taken, pair.credited) == (True, 0, 0)
