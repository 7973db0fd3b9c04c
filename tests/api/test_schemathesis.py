"""Property-based API tests: schemathesis drives every operation in /api/schema/.

Each operation runs as an anonymous caller, an annotator and an admin (token header), against
the WSGI app in-process with a published batch to claim from; a state machine follows the
links claim → retrieve / submit / skip / report with the ids the server hands out. No
generated input may produce a 5xx, every status and body must match the schema, and every
4xx must carry the project's JSON error naming the problem.
"""

from __future__ import annotations

import copy

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotation_server.accounts import roles
from annotation_server.assignments import claim
from tests.assignments.workload import make_batch

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ANONYMOUS = "anonymous"


@pytest.fixture
def in_test_transaction():
    """Requests run inside the test's transaction: keep Django from closing the connection at
    the end of each request, as its own test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class Caller:
    """Headers of one caller; the token comes back before each call, since a generated
    POST /auth/logout/ revokes it (which the next call would otherwise only see as 401s)."""

    def __init__(self, user=None):
        self.user = user
        self.key = Token.objects.create(user=user).key if user is not None else None

    def headers(self) -> dict[str, str]:
        if self.user is None:
            return {}
        Token.objects.get_or_create(user=self.user, defaults={"key": self.key})
        return {"Authorization": f"Token {self.key}"}


@pytest.fixture(params=[ANONYMOUS, roles.ANNOTATOR, roles.ADMIN])
def caller(request, make_user, in_test_transaction):
    """A caller of each kind, with a published batch to claim from."""
    make_batch(3, label_prompts=True)
    return Caller(None if request.param == ANONYMOUS else make_user(request.param))


@pytest.fixture
def annotator(make_user, in_test_transaction):
    make_batch(3, label_prompts=True)
    return Caller(make_user(roles.ANNOTATOR))


def error_names_the_problem(ctx, response, case) -> bool | None:
    """A 4xx answers with {"detail": non-empty text, "code": ..., "errors"?: {...}}."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict), f"4xx body is not a JSON object: {response.text[:200]}"
        assert isinstance(body.get("detail"), str) and body["detail"], body
        assert isinstance(body.get("code"), str) and body["code"], body
        if "errors" in body:
            assert isinstance(body["errors"], dict) and body["errors"], body
    return None


# The links a client follows: the id a claim returns names the assignment to act on.
CLAIM = ("/api/v1/assignments/next/", "post")
LINKS = {
    "Retrieve": "v1_assignments_retrieve",
    "Submit": "v1_assignments_submit_create",
    "Skip": "v1_assignments_skip_create",
    "Report": "v1_assignments_report_create",
}


def _with_links(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    claimed = raw["paths"][CLAIM[0]][CLAIM[1]]["responses"]["200"]
    claimed["links"] = {
        name: {"operationId": op, "parameters": {"assignment_id": "$response.body#/id"}}
        for name, op in LINKS.items()
    }
    return raw


# Loaded at collection time: the schema view needs no database. (The lazy from_fixture
# loader of schemathesis 4.32 does not run under pytest 9.)
_app = get_wsgi_application()
_raw = _with_links(schemathesis.openapi.from_wsgi("/api/schema/?format=json", _app).raw_schema)
schema = schemathesis.openapi.from_dict(_raw)


def _pairwise_submits(raw: dict) -> dict:
    """The schema as a worker of the test's pairwise batch uses it: submits are pairwise
    answers (the documented body is pairwise or classification, and a classification body is
    refused there) that carry the prompt's labels, which that batch asks for. Without this,
    most generated submits could never succeed and the run sometimes saw none succeed."""
    raw = copy.deepcopy(raw)
    body = raw["paths"]["/api/v1/assignments/{assignment_id}/submit/"]["post"]["requestBody"]
    for media in body["content"].values():
        media["schema"] = {"$ref": "#/components/schemas/PairwiseSubmitRequest"}
    pairwise = raw["components"]["schemas"]["PairwiseSubmitRequest"]
    pairwise["required"] = [*pairwise["required"], "prompt_harm_labels"]
    pairwise["properties"]["prompt_harm_labels"]["nullable"] = False
    return raw


pairwise_schema = schemathesis.openapi.from_dict(_pairwise_submits(_raw))
schema.app = pairwise_schema.app = _app
HYPOTHESIS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


def test_the_schema_covers_every_api_operation():
    """`make test` exercises the whole API: every operation the URLconf serves is in it."""
    operations = {
        (op.path, op.method.upper()) for op in (r.ok() for r in schema.get_all_operations())
    }
    assert {
        ("/api/v1/auth/token/", "POST"),
        ("/api/v1/auth/logout/", "POST"),
        ("/api/v1/assignments/next/", "POST"),
        ("/api/v1/assignments/{assignment_id}/submit/", "POST"),
        ("/api/v1/entry/status/", "GET"),
        ("/api/v1/me/", "GET"),
    } <= operations


@schema.parametrize()
@HYPOTHESIS
def test_whole_api_matches_its_schema(case, caller):
    """Every operation, as each kind of caller: no 5xx, every status and body as documented."""
    case.call_and_validate(headers=caller.headers(), checks=[*CHECKS, error_names_the_problem])


live_assignment_api = schema.include(path_regex=r"^/api/v1/assignments/\{assignment_id\}/")


@live_assignment_api.parametrize()
@HYPOTHESIS
def test_generated_input_against_a_live_assignment(case, annotator):
    """Generated bodies aimed at the caller's real assignment: validated, never a 5xx."""
    claimed = claim.assignment_claim_next(annotator=annotator.user)
    if claimed is not None:  # after the batch runs out, the last id answers 409s
        case.path_parameters = {"assignment_id": str(claimed.pk)}
    case.call_and_validate(headers=annotator.headers(), checks=[*CHECKS, error_names_the_problem])


@pytest.mark.django_db
def test_claim_then_act_on_it_statefully(annotator):
    """Sequences that follow the links: claim, then retrieve / submit / skip / report the
    claimed assignment (and claim again), each step checked against the schema."""
    Machine = pairwise_schema.as_state_machine()
    seen: set[tuple[str, str, int]] = set()
    handed_out: set[str] = set()  # assignment ids the server's claims returned
    on_claimed: set[tuple[str, int]] = set()  # (path, status) of calls naming one of them

    class Workflow(Machine):
        def get_call_kwargs(self, case):
            return {"headers": annotator.headers()}

        def after_call(self, response, case):
            seen.add((case.method.upper(), case.operation.path, response.status_code))
            if case.operation.path.endswith("/next/") and response.status_code == 200:
                handed_out.add(response.json()["id"])
            if (case.path_parameters or {}).get("assignment_id") in handed_out:
                on_claimed.add((case.operation.path, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[*CHECKS, error_names_the_problem])

    make_batch(20)
    Workflow.run(
        settings=hypothesis.settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    # The links were followed: a claimed id reached the operations that act on it.
    acted = {(method, path) for method, path, status in seen if status in (200, 201)}
    assert ("POST", "/api/v1/assignments/next/") in acted, seen
    # A submit reached a claimed assignment: stored (201), or its generated body refused for
    # it (400: most generated bodies miss a required pairwise field), or refused because the
    # assignment was closed by an earlier step (409).
    submit = "/api/v1/assignments/{assignment_id}/submit/"
    assert {(submit, s) for s in (201, 400, 409)} & on_claimed, sorted(seen)
