"""Claim and submit check the worker's token inside their own statement (PostgreSQL).

What a worker or an attacker can observe must be exactly what the usual token check gives:
the same statuses and error bodies, nothing claimed or stored for a caller who may not, and
the work recorded for the token's real owner — while an everyday claim or submit costs one
statement instead of two.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from annotation_server.accounts import authentication
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment, PairReport
from tests.assignments.workload import (
    NEXT,
    answers,
    client_for,
    deactivate,
    make_batch,
    make_reviewer_only,
    statements_run,
    submit,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_claim_sweep")]


def _known_token_client(user):
    """A token client whose key this process has already authenticated the usual way."""
    client = client_for(user)
    assert client.get("/api/v1/ping/").status_code == 200
    key = Token.objects.get(user=user).key
    assert authentication._TOKEN_USERS[key] == user.pk
    return client


def _usual_way(client, method: str, path: str, body=None):
    """The same request with the process's token hints forgotten: the usual token check."""
    authentication._TOKEN_USERS.clear()
    return getattr(client, method)(path, body, format="json")


def test_everyday_claim_and_submit_are_one_statement_each(make_user):
    make_batch(2)
    user = make_user()
    worker = _known_token_client(user)

    with CaptureQueriesContext(connection) as claim_queries:
        claimed = worker.post(NEXT, {}, format="json")
    assert claimed.status_code == 200
    with CaptureQueriesContext(connection) as submit_queries:
        submitted = submit(worker, claimed.json()["id"])
    assert submitted.status_code == 201

    for queries in (claim_queries, submit_queries):
        statements = statements_run(queries)
        assert len(statements) == 1 and "authtoken_token" in statements[0]
    assignment = Assignment.objects.get(pk=claimed.json()["id"])
    assert (assignment.annotator_id, assignment.status) == (user.pk, "submitted")
    assert Annotation.objects.get().annotator_id == user.pk


def test_everyday_skip_is_one_statement_and_frees_the_slot(make_user):
    _, (pair,) = make_batch(1)
    user = make_user()
    worker = _known_token_client(user)
    assignment_id = worker.post(NEXT, {}, format="json").json()["id"]
    path = f"/api/v1/assignments/{assignment_id}/skip/"
    with CaptureQueriesContext(connection) as queries:
        response = worker.post(path, {"reason": "unsure", "note": "can't tell"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"id": assignment_id, "status": "skipped"}
    statements = statements_run(queries)
    assert len(statements) == 1 and "authtoken_token" in statements[0]
    report = PairReport.objects.get()
    assert (report.kind, report.reason, report.note) == ("skip", "unsure", "can't tell")
    assert (report.annotator_id, report.assignment_id) == (user.pk, uuid.UUID(assignment_id))
    pair.refresh_from_db()
    assert pair.taken == 0
    again = worker.post(path, {"reason": "unsure"}, format="json")  # repeating is harmless
    assert (again.status_code, again.json()["status"]) == (200, "skipped")
    assert PairReport.objects.count() == 1


def test_first_request_of_an_unknown_token_takes_the_usual_way(make_user):
    make_batch(1)
    user = make_user()
    worker = client_for(user)
    authentication._TOKEN_USERS.clear()
    with CaptureQueriesContext(connection) as queries:
        assert worker.post(NEXT, {}, format="json").status_code == 200
    statements = statements_run(queries)
    assert len(statements) == 2  # the token lookup, then the claim
    assert "authtoken_token" in statements[0] and "authtoken_token" not in statements[1]
    assert authentication._TOKEN_USERS[Token.objects.get(user=user).key] == user.pk


def _deleted_token(user):
    Token.objects.filter(user=user).delete()


# A change to the caller after their token became known, and the usual path's answer to it.
_REFUSALS = [
    (_deleted_token, 401, "Invalid token."),
    (deactivate, 401, "User inactive or deleted."),
    (make_reviewer_only, 403, "Only annotator accounts can take and submit assignments."),
]


@pytest.mark.parametrize(("change", "status", "detail"), _REFUSALS)
def test_a_caller_who_may_not_claim_gets_the_usual_answer_and_claims_nothing(
    make_user, change, status, detail
):
    make_batch(2)
    user = make_user()
    worker = _known_token_client(user)
    change(user)

    response = worker.post(NEXT, {}, format="json")
    assert response.status_code == status
    assert response.json()["detail"] == detail
    if status == 401:
        assert response["WWW-Authenticate"] == "Token"
    assert not Assignment.objects.exists()
    usual = _usual_way(worker, "post", NEXT, {})
    assert (usual.status_code, usual.json()) == (response.status_code, response.json())


@pytest.mark.parametrize(("change", "status", "detail"), _REFUSALS)
def test_a_caller_who_may_not_submit_gets_the_usual_answer_and_stores_nothing(
    make_user, change, status, detail
):
    make_batch(1)
    user = make_user()
    worker = _known_token_client(user)
    assignment_id = worker.post(NEXT, {}, format="json").json()["id"]
    change(user)

    response = submit(worker, assignment_id)
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(pk=assignment_id).status == "open"
    path = f"/api/v1/assignments/{assignment_id}/submit/"
    usual = _usual_way(worker, "post", path, answers())
    assert (usual.status_code, usual.json()) == (response.status_code, response.json())


@pytest.mark.parametrize(("change", "status", "detail"), _REFUSALS)
def test_a_caller_who_may_not_skip_changes_nothing(make_user, change, status, detail):
    _, (pair,) = make_batch(1)
    user = make_user()
    worker = _known_token_client(user)
    assignment_id = worker.post(NEXT, {}, format="json").json()["id"]
    change(user)
    path = f"/api/v1/assignments/{assignment_id}/report/"
    response = worker.post(path, {"reason": "broken_video"}, format="json")
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert Assignment.objects.get(pk=assignment_id).status == "open"
    assert not PairReport.objects.exists()
    pair.refresh_from_db()
    assert pair.taken == 1
    usual = _usual_way(worker, "post", path, {"reason": "broken_video"})
    assert (usual.status_code, usual.json()) == (response.status_code, response.json())


def test_superuser_without_the_annotator_group_may_claim_as_by_the_usual_way(make_user):
    make_batch(1)
    user = make_user()
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    user.groups.clear()
    worker = _known_token_client(user)
    response = worker.post(NEXT, {}, format="json")
    assert response.status_code == 200
    assert Assignment.objects.get().annotator_id == user.pk


def test_a_token_that_changed_hands_acts_for_its_new_owner_only(make_user):
    # The process remembers which user a key belonged to; the statement must not trust that.
    make_batch(2)
    first, second = make_user(), make_user()
    worker = _known_token_client(first)
    Token.objects.filter(user=second).delete()
    Token.objects.filter(user=first).update(user=second)

    claimed = worker.post(NEXT, {}, format="json")
    assert claimed.status_code == 200
    assert Assignment.objects.get(pk=claimed.json()["id"]).annotator_id == second.pk
    assert submit(worker, claimed.json()["id"]).status_code == 201
    assert Annotation.objects.get().annotator_id == second.pk
    assert not Assignment.objects.filter(annotator=first).exists()


@pytest.mark.parametrize(
    ("path", "body", "usual_error"),
    [
        (NEXT, {"prefetch": "maybe"}, 400),
        ("/api/v1/assignments/not-a-uuid/submit/", answers(), 404),
        ("/api/v1/assignments/00000000-0000-0000-0000-000000000000/submit/", {}, 400),
    ],
)
def test_a_bad_token_is_refused_before_the_input_is_judged(make_user, path, body, usual_error):
    make_batch(1)
    user = make_user()
    worker = _known_token_client(user)
    assert worker.post(path, body, format="json").status_code == usual_error
    _deleted_token(user)
    response = worker.post(path, body, format="json")
    assert (response.status_code, response.json()["detail"]) == (401, "Invalid token.")


def test_needing_the_full_rules_costs_no_second_token_lookup(make_user):
    # A resumed assignment is not the one-statement claim: the statement still
    # authenticates the caller, and the full claim runs without looking the token up again.
    make_batch(2)
    user = make_user()
    worker = _known_token_client(user)
    first = worker.post(NEXT, {}, format="json").json()["id"]
    with CaptureQueriesContext(connection) as queries:
        again = worker.post(NEXT, {}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first
    assert sum("authtoken_token" in statement for statement in statements_run(queries)) == 1
