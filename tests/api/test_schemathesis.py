"""Property-based API tests: schemathesis drives every worker endpoint from /api/schema/.

It runs as an authenticated annotator (token header) against the WSGI app in-process, with
a published batch to claim from. No generated input may produce a 5xx, every response must
match the schema, and every 4xx must carry the project's JSON error naming the problem.
"""

from __future__ import annotations

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

from annotation_server.assignments import claim
from tests.assignments.workload import make_batch


@pytest.fixture
def annotator_token(make_user):
    """A token of an annotator, with a published batch to claim from."""
    make_batch(3, label_prompts=True)
    # Requests run inside the test's transaction: keep Django from closing the connection
    # at the end of each request, as its own test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Token.objects.create(user=make_user()).key
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


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


# Loaded at collection time: the schema view needs no database. (The lazy from_fixture
# loader of schemathesis 4.32 does not run under pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
worker_api = schema.include(path_regex=r"^/api/v1/(assignments|me|ping)")
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


@worker_api.parametrize()
@HYPOTHESIS
def test_worker_api_matches_its_schema(case, annotator_token):
    """The worker endpoints: no 5xx, and every status and body as documented."""
    case.call_and_validate(
        headers={"Authorization": f"Token {annotator_token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            error_names_the_problem,
        ],
    )


@schema.parametrize()
@HYPOTHESIS
def test_whole_api_never_fails_and_explains_errors(case, annotator_token):
    """Every endpoint in /api/schema/ (other apps' too): no 5xx, JSON errors naming the problem."""
    case.call_and_validate(
        headers={"Authorization": f"Token {annotator_token}"},
        checks=[not_a_server_error, error_names_the_problem],
    )


live_assignment_api = schema.include(path_regex=r"^/api/v1/assignments/\{assignment_id\}/")


@live_assignment_api.parametrize()
@HYPOTHESIS
def test_generated_input_against_a_live_assignment(case, annotator_token):
    """Generated bodies aimed at the caller's real assignment: validated, never a 5xx."""
    user = Token.objects.select_related("user").get(key=annotator_token).user
    claimed = claim.assignment_claim_next(annotator=user)
    if claimed is not None:  # after the batch runs out, the last id answers 409s
        case.path_parameters = {"assignment_id": str(claimed.pk)}
    case.call_and_validate(
        headers={"Authorization": f"Token {annotator_token}"},
        checks=[not_a_server_error, status_code_conformance, error_names_the_problem],
    )
