"""Gold pairs: mixed in, scored on submit, never revealed, never counted toward overlap."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotation_server.annotations import answers as rules
from annotation_server.annotations.models import Annotation
from annotation_server.annotations.services import pair_mark_gold
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from tests.assignments.workload import NEXT, answers, client_for, make_batch, submit
from tests.factories import PairFactory

pytestmark = pytest.mark.django_db

GOLD = {
    "helpfulness": "video_0",
    "harmlessness": "video_1",
    "sub_preferences": {"instruction_following": "video_0", "aesthetics": "video_1"},
    "video_0_harms": ["violence"],
    "video_1_harms": [],
}


def _gold_pair(batch) -> Pair:
    return pair_mark_gold(pair=PairFactory(batch=batch), answer=GOLD)


def test_gold_is_scored_and_never_shown(make_user):
    batch, [regular] = make_batch(1, gold_rate=1.0)
    gold = _gold_pair(batch)
    worker = client_for(make_user())
    response = worker.post(NEXT, {}, format="json")
    body = response.json()
    assignment = Assignment.objects.get(pk=body["id"])
    assert assignment.pair_id == gold.pk and assignment.is_gold
    raw = response.content.decode()
    assert "gold" not in raw and "video_0" not in raw and "is_gold" not in raw
    assert worker.get(f"/api/v1/assignments/{assignment.pk}/").content.decode() == raw
    # Left/right as shown: make "left" mean video_0 so the example answers are
    # right on helpfulness, harmlessness, instruction following and video_0/1 harms, and
    # wrong on aesthetics ("left" = video_0, gold says video_1): 5 of 6 fields.
    Assignment.objects.filter(pk=assignment.pk).update(left_is_video_0=True)
    result = submit(worker, body["id"])
    assert result.status_code == 201
    assert "gold" not in result.content.decode() and "score" not in result.content.decode()
    stored = Annotation.objects.get()
    assert stored.is_gold and stored.gold_score == pytest.approx(5 / 6)
    for pair in (gold, regular):
        pair.refresh_from_db()
    assert gold.taken == 0  # gold never counts toward overlap
    assert regular.taken == 0


def test_gold_pairs_are_not_served_twice_nor_alone(make_user):
    batch, regular = make_batch(3, gold_rate=1.0)
    gold = _gold_pair(batch)
    worker = client_for(make_user())
    served = []
    while (response := worker.post(NEXT, {}, format="json")).status_code == 200:
        assignment = Assignment.objects.get(pk=response.json()["id"])
        served.append(assignment.pair_id)
        submit(worker, str(assignment.pk))
    assert served.count(gold.pk) == 1
    assert sorted(served) == sorted([gold.pk, *(p.pk for p in regular)])


def test_gold_does_not_use_up_regular_slots(make_user):
    batch, [regular] = make_batch(1, overlap=2, gold_rate=1.0)
    _gold_pair(batch)
    workers = [client_for(make_user()) for _ in range(3)]
    for worker in workers:  # each first gets the gold pair...
        gold_id = worker.post(NEXT, {}, format="json").json()["id"]
        assert Assignment.objects.get(pk=gold_id).is_gold
        submit(worker, gold_id)
    regular_ids = [w.post(NEXT, {}, format="json") for w in workers]
    # ...and the regular pair still reaches exactly K=2 of them.
    assert [r.status_code for r in regular_ids] == [200, 200, 204]
    regular.refresh_from_db()
    assert regular.taken == 2


def test_gold_rate_zero_serves_no_gold(make_user):
    batch, _ = make_batch(2, gold_rate=0.0)
    _gold_pair(batch)
    worker = client_for(make_user())
    for _ in range(2):
        assignment_id = worker.post(NEXT, {}, format="json").json()["id"]
        assert not Assignment.objects.get(pk=assignment_id).is_gold
        submit(worker, assignment_id)
    assert worker.post(NEXT, {}, format="json").status_code == 204


def test_gold_score_counts_matching_fields():
    fields = rules.answers_to_fields(answers(), left_is_video_0=False)
    # left = video_1: helpfulness video_1 (gold video_0 ✗), harmlessness video_0 (✗),
    # instruction_following video_1 (✗), aesthetics video_1 (✓), video_0_harms [] (✗),
    # video_1_harms ["violence"] (✗).
    assert rules.gold_score(fields, GOLD) == pytest.approx(1 / 6)
    assert rules.gold_score(fields, {"video_1_harms": ["violence"]}) == 1.0


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"helpfulness": "left"},
        {"sub_preferences": {"style": "video_0"}},
        {"video_0_harms": ["spooky"]},
        {"surprise": 1},
        ["video_0"],
    ],
)
def test_bad_gold_answers_are_refused(bad):
    pair = PairFactory()
    with pytest.raises(Exception, match="Gold answer"):
        pair_mark_gold(pair=pair, answer=bad)
    pair.refresh_from_db()
    assert not pair.is_gold and pair.gold_answer is None


def test_mark_gold_command_is_all_or_nothing(tmp_path):
    batch, [a, b] = make_batch(2)
    path = tmp_path / "gold.json"
    path.write_text(json.dumps({a.pair_id: GOLD, b.pair_id: {"helpfulness": "left"}}))
    with pytest.raises(CommandError, match=b.pair_id):
        call_command("mark_gold", batch=batch.name, answers=path)
    assert not Pair.objects.filter(is_gold=True).exists()
    path.write_text(json.dumps({a.pair_id: GOLD}))
    call_command("mark_gold", batch=batch.name, answers=path)
    a.refresh_from_db()
    assert a.is_gold and a.gold_answer == GOLD
    call_command("mark_gold", batch=batch.name, answers=path, clear=True)
    a.refresh_from_db()
    assert not a.is_gold


def test_admin_refuses_a_gold_pair_without_a_valid_answer(admin_client):
    pair = PairFactory()
    url = f"/admin/batches/pair/{pair.pk}/change/"
    form = {
        "batch": pair.batch_id,
        "prompt": pair.prompt_id,
        "video_0": pair.video_0_id,
        "video_1": pair.video_1_id,
        "pair_id": pair.pair_id,
        "active": "on",
        "is_gold": "on",
        "gold_answer": json.dumps({"helpfulness": "left"}),
    }
    page = admin_client.post(url, form)
    assert page.status_code == 200 and "must be" in page.content.decode()
    pair.refresh_from_db()
    assert not pair.is_gold
    form["gold_answer"] = json.dumps(GOLD)
    assert admin_client.post(url, form).status_code == 302
    pair.refresh_from_db()
    assert pair.is_gold and pair.gold_answer == GOLD
