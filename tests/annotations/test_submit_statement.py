"""The one-statement submit (submit_statement.py) means what the plain ORM submit means.

Each scenario builds one assignment; the statement and `services._submit_orm` then store the
same answers on it in turn, each inside a transaction that is rolled back, with the same
clock. Where the statement stores, the annotation row and the closed assignment must equal
the ORM's field by field; where it declines (None), nothing may have changed, so the plain
way decides and explains alone.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation_server.annotations import services, submit_statement
from annotation_server.annotations.models import Annotation
from annotation_server.annotations.services import pair_mark_gold
from annotation_server.annotations.submit_statement import submit_in_one_statement
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.exceptions import ApplicationError
from annotation_server.taxonomy import HARM_KEYS
from tests.assignments.workload import (
    NEXT,
    answers,
    client_for,
    make_batch,
    make_items,
    statements_run,
    submit,
)
from tests.factories import PairFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=654321)
GOLD = {"helpfulness": "video_0", "harmlessness": "video_1", "video_0_harms": ["violence"]}
# The ORM stamps created_at itself (auto_now_add); the statement writes the request's clock.
_NOT_COMPARED = {"id", "created_at"}


class _Rollback(Exception):
    pass


def _rows() -> tuple:
    annotations = [
        {k: v for k, v in model_to_dict(row).items() if k not in _NOT_COMPARED}
        for row in Annotation.objects.order_by("pk")
    ]
    assignments = list(
        Assignment.objects.order_by("pk").values_list("pk", "status", "finished_at", "slot")
    )
    return annotations, assignments, sorted(Pair.objects.values_list("id", "taken"))


def _run(fn) -> dict:
    outcome = {}
    try:
        with transaction.atomic():
            try:
                outcome["result"] = fn()
            except ApplicationError as error:
                outcome["error"] = error.code
            outcome["rows"] = _rows()
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def _compare(annotator, assignment_id, body: dict) -> tuple[dict, dict]:
    before = _rows()
    kwargs = {"annotator": annotator, "assignment_id": assignment_id, "answers": body, "now": NOW}
    by_statement = _run(lambda: submit_in_one_statement(**kwargs))
    assert _rows() == before
    by_orm = _run(lambda: services._submit_orm(**kwargs))
    if by_statement["result"] is None:
        assert by_statement["rows"] == before, "a declining statement must change nothing"
    else:
        stored, created = by_orm["result"]
        assert created
        assert by_statement["rows"] == by_orm["rows"]
        returned = by_statement["result"]
        assert {k: v for k, v in model_to_dict(returned).items() if k not in _NOT_COMPARED} == {
            k: v for k, v in model_to_dict(stored).items() if k not in _NOT_COMPARED
        }
        assert returned.created_at == NOW
    return by_statement, by_orm


def _assignment(annotator, pair, *, status="open", left=True, gold=False, minutes_ago=3):
    claimed = NOW - dt.timedelta(minutes=minutes_ago, microseconds=1500)
    return Assignment.objects.create(
        pair=pair,
        batch=pair.batch,
        annotator=annotator,
        status=status,
        left_is_video_0=left,
        is_gold=gold,
        claimed_at=claimed,
        expires_at=claimed + dt.timedelta(minutes=30),
        finished_at=None if status == "open" else NOW - dt.timedelta(minutes=1),
        slot=0 if status == "open" else None,
    )


@pytest.mark.parametrize("left", [True, False])
def test_everyday_submit_stores_the_same_row_both_ways(make_user, left):
    batch, [pair] = make_batch(1)
    Pair.objects.filter(pk=pair.pk).update(taken=1)
    worker = make_user()
    assignment = _assignment(worker, pair, left=left)
    body = answers(prompt_harm_labels=["violence"])  # sent but not asked: stored as null
    by_statement, _ = _compare(worker, assignment.pk, body)
    stored = by_statement["rows"][0][0]
    assert stored["prompt_harms"] is None
    assert stored["server_duration_ms"] == 180_001
    assert stored["video_0_harms" if left else "video_1_harms"] == ["violence"]


def test_open_but_past_expiry_is_still_everyday(make_user):
    # Not yet swept: still open, so both ways store it (no work is lost).
    batch, [pair] = make_batch(1)
    worker = make_user()
    assignment = _assignment(worker, pair, minutes_ago=45)
    by_statement, _ = _compare(worker, assignment.pk, answers())
    assert by_statement["result"] is not None


def test_someone_elses_or_unknown_assignment_is_declined(make_user):
    batch, [pair] = make_batch(1)
    owner, other = make_user(), make_user()
    assignment = _assignment(owner, pair)
    by_statement, by_orm = _compare(other, assignment.pk, answers())
    assert by_statement["result"] is None and by_orm["error"] == "assignment_not_found"
    by_statement, by_orm = _compare(owner, "00000000-0000-4000-8000-000000000000", answers())
    assert by_statement["result"] is None and by_orm["error"] == "assignment_not_found"


@pytest.mark.parametrize(
    "status, orm_says",
    [("skipped", "assignment_closed"), ("reported", "assignment_closed"), ("expired", None)],
)
def test_closed_assignments_are_declined(make_user, status, orm_says):
    batch, [pair] = make_batch(1)
    worker = make_user()
    assignment = _assignment(worker, pair, status=status)
    by_statement, by_orm = _compare(worker, assignment.pk, answers())
    assert by_statement["result"] is None
    # An expired one whose slot is still free is accepted by the plain way (late submit).
    assert by_orm.get("error") == orm_says


def test_resubmit_is_declined_and_answered_by_the_orm(make_user):
    batch, [pair] = make_batch(1)
    worker = make_user()
    assignment = _assignment(worker, pair)
    services._submit_orm(annotator=worker, assignment_id=assignment.pk, answers=answers(), now=NOW)
    by_statement, by_orm = _compare(worker, assignment.pk, answers())
    assert by_statement["result"] is None and by_orm["result"][1] is False
    by_statement, by_orm = _compare(worker, assignment.pk, answers(helpfulness="right"))
    assert by_statement["result"] is None and by_orm["error"] == "already_submitted"


def test_gold_and_prompt_label_pairs_are_declined(make_user):
    batch, _ = make_batch(0, label_prompts=True, gold_rate=0.5)
    gold = pair_mark_gold(pair=PairFactory(batch=batch), answer=GOLD)
    asks = PairFactory(batch=batch)
    asks.prompt.prompt_labels = None
    asks.prompt.save(update_fields=["prompt_labels"])
    worker = make_user()
    on_gold = _assignment(worker, gold, gold=True)
    # Factory prompts carry no labels, so this batch asks them on the gold pair too.
    by_statement, by_orm = _compare(worker, on_gold.pk, answers(prompt_harm_labels=[]))
    print("ORM", by_orm.get("error"))
    assert by_statement["result"] is None and by_orm["result"][0].gold_score is not None
    on_asks = Assignment.objects.create(
        pair=asks,
        batch=batch,
        annotator=worker,
        left_is_video_0=True,
        claimed_at=NOW,
        expires_at=NOW + dt.timedelta(minutes=30),
        slot=1,
    )
    by_statement, by_orm = _compare(worker, on_asks.pk, answers())
    assert by_statement["result"] is None and by_orm["error"] == "invalid"


# --- Classification answers: the batch's question decides what a valid answer stores ---

LABEL = {"harmful": True, "categories": ["violence", "porn"], "reason": "  blood \n and  gore "}


@pytest.fixture
def questions():
    """The process's remembered batch questions, empty at the start of each test."""
    submit_statement._questions.clear()
    yield submit_statement._questions
    submit_statement._questions.clear()


def _item_assignment(worker, **batch_fields):
    batch, [item] = make_items(1, **batch_fields)
    Pair.objects.filter(pk=item.pk).update(taken=1)
    return batch, _assignment(worker, item)


def _remember(batch) -> None:
    batch.refresh_from_db()
    submit_statement.question_remember(batch, services._taxonomy_keys(batch.taxonomy_id))


@pytest.mark.parametrize(
    "question",
    [
        {},
        {"ask_reason": True, "ask_confidence": True},
        {"ask_harmful": False},
        {"ask_categories": False, "ask_reason": True},
    ],
)
def test_classification_submit_stores_the_same_row_both_ways(make_user, questions, question):
    worker = make_user()
    batch, assignment = _item_assignment(worker, **question)
    _remember(batch)
    body = {**LABEL, "confidence": 4, "timings": {"stage1_ms": 1200}}
    by_statement, _ = _compare(worker, assignment.pk, body)
    assert by_statement["result"] is not None
    stored = by_statement["rows"][0][0]
    assert stored["taxonomy"] == batch.taxonomy_id and stored["stage1_ms"] == 1200
    assert stored["helpfulness"] is None and stored["video_0_harms"] is None
    if question.get("ask_categories", True):
        assert stored["categories"] == [k for k in HARM_KEYS if k in LABEL["categories"]]
    assert stored["reason"] == ("blood and gore" if question.get("ask_reason") else "")
    assert stored["confidence"] == (4 if question.get("ask_confidence") else None)


def test_a_question_not_seen_or_changed_since_is_declined(make_user, questions):
    worker = make_user()
    batch, assignment = _item_assignment(worker)
    by_statement, by_orm = _compare(worker, assignment.pk, LABEL)
    assert by_statement["result"] is None and by_orm["result"][1] is True
    # The plain way remembers the question it loaded: the next submit takes one statement.
    assert questions[batch.pk].keys == tuple(HARM_KEYS)
    by_statement, _ = _compare(worker, assignment.pk, LABEL)
    assert by_statement["result"] is not None
    # An admin changes the question: the remembered one no longer matches the batch row.
    Batch.objects.filter(pk=batch.pk).update(ask_reason=True)
    by_statement, by_orm = _compare(worker, assignment.pk, LABEL)
    assert by_statement["result"] is None
    assert by_orm["result"][0].reason == "blood and gore"


@pytest.mark.parametrize(
    "body",
    [
        {"harmful": True, "categories": ["not-a-category"]},
        {"harmful": False, "categories": ["violence"]},
        {"categories": ["violence"]},  # harmful asked
    ],
)
def test_an_answer_the_question_refuses_is_declined(make_user, questions, body):
    worker = make_user()
    batch, assignment = _item_assignment(worker)
    _remember(batch)
    by_statement, by_orm = _compare(worker, assignment.pk, body)
    assert by_statement["result"] is None and by_orm["error"] == "invalid"


def test_a_gold_item_or_a_pairwise_assignment_is_declined(make_user, questions):
    worker = make_user()
    batch, [item] = make_items(1)
    gold = pair_mark_gold(pair=item, answer={"harmful": True})
    on_gold = _assignment(worker, gold, gold=True)
    _remember(batch)
    by_statement, by_orm = _compare(worker, on_gold.pk, LABEL)
    assert by_statement["result"] is None and by_orm["result"][0].gold_score == 1.0
    # A label answer sent for a pair of a pairwise batch: the plain way explains.
    _, [pair] = make_batch(1)
    other = make_user()
    on_pair = _assignment(other, pair)
    by_statement, by_orm = _compare(other, on_pair.pk, LABEL)
    assert by_statement["result"] is None and by_orm["error"] == "wrong_answer_kind"


def test_the_api_stores_a_classification_answer_in_one_statement(make_user, questions):
    """Once the server has loaded a batch's question, a worker's submit there is the token
    check and one statement, as a pairwise submit is; the answer is stored all the same."""
    batch, _ = make_items(3, overlap=1)
    client = client_for(make_user())
    for round_ in range(2):
        claimed = client.post(NEXT, {"batch": batch.name}, format="json").json()
        with CaptureQueriesContext(connection) as queries:
            response = submit(client, claimed["id"], LABEL)
        assert response.status_code == 201, response.json()
        run = statements_run(queries.captured_queries)
        # The first submit loads the question the plain way (lock, insert, update: its
        # transaction is a savepoint in the test's); the second takes one statement.
        assert len(run) == (2 if round_ else 4), run
    stored = Annotation.objects.filter(batch=batch).order_by("pk")
    assert [a.categories for a in stored] == [["porn", "violence"]] * 2
    assert all(a.harmful and a.taxonomy_id == batch.taxonomy_id for a in stored)
