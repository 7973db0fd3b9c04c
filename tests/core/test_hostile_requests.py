"""Hostile requests against the worker API, the study links and the log-in pages: each is
answered with a 4xx that says what is wrong, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.batches import lifecycle
from annotation_server.core.models import AuditEvent
from tests.assignments.workload import NEXT, answers, client_for
from tests.factories import BatchFactory, PairFactory

DEEP = b'{"note": ' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE = json.dumps({**answers(), "note": "x" * 2_000_000}).encode()
LONG = "x" * 20_000


def _json(obj) -> bytes:
    return json.dumps(obj).encode()


# (name, method, path, body, content type, extra headers); "{a}" is the caller's assignment,
# "{t}" the study's entry token.
HOSTILE = [
    ("deep JSON submit", "POST", "/api/v1/assignments/{a}/submit/", DEEP, "application/json", {}),
    ("deep JSON claim", "POST", NEXT, b"[" * 100_000, "application/json", {}),
    ("huge JSON submit", "POST", "/api/v1/assignments/{a}/submit/", HUGE, "application/json", {}),
    (
        "NUL in a JSON string",
        "POST",
        "/api/v1/assignments/{a}/report/",
        _json({"reason": "broken_video", "note": "a\x00b"}),
        "application/json",
        {},
    ),
    (
        "NUL in a JSON key",
        "POST",
        "/api/v1/assignments/{a}/submit/",
        _json({**answers(), "x\x00": 1}),
        "application/json",
        {},
    ),
    (
        "lone surrogate in JSON",
        "POST",
        "/api/v1/assignments/{a}/report/",
        b'{"reason": "broken_video", "note": "\\udc80"}',
        "application/json",
        {},
    ),
    (
        "invalid UTF-8 body",
        "POST",
        "/api/v1/assignments/{a}/report/",
        b'{"reason": "broken_video", "note": "\xff\xfe\xc3"}',
        "application/json",
        {},
    ),
    (
        "over-long note",
        "POST",
        "/api/v1/assignments/{a}/report/",
        _json({"reason": "broken_video", "note": LONG}),
        "application/json",
        {},
    ),
    (
        "over-long batch name",
        "POST",
        NEXT,
        _json({"batch": LONG}),
        "application/json",
        {},
    ),
    ("a JSON list", "POST", "/api/v1/assignments/{a}/submit/", b"[]", "application/json", {}),
    ("a JSON string", "POST", NEXT, b'"hello"', "application/json", {}),
    ("wrong content type", "POST", "/api/v1/assignments/{a}/submit/", b"{}", "text/plain", {}),
    (
        "form body to the API",
        "POST",
        "/api/v1/assignments/{a}/submit/",
        b"helpfulness=left",
        "application/x-www-form-urlencoded",
        {},
    ),
    ("XML body", "POST", NEXT, b"<a/>", "application/xml", {}),
    ("NUL in API path", "GET", "/api/v1/assignments/%00/", b"", None, {}),
    (
        "NUL in submit path",
        "POST",
        "/api/v1/assignments/%00/submit/",
        b"{}",
        "application/json",
        {},
    ),
    ("newline in API path", "GET", "/api/v1/assignments/a%0Ab/", b"", None, {}),
    ("invalid UTF-8 in API path", "GET", "/api/v1/assignments/%FF%FE/", b"", None, {}),
    ("over-long API path", "GET", "/api/v1/assignments/" + "a" * 5000 + "/", b"", None, {}),
    ("NUL in API query", "GET", "/api/v1/me/?x=%00", b"", None, {}),
    ("over-long API query", "GET", "/api/v1/me/?x=" + LONG, b"", None, {}),
    ("NUL in token header", "GET", "/api/v1/me/", b"", None, {"HTTP_AUTHORIZATION": "Token a\x00"}),
    ("over-long token header", "GET", "/api/v1/me/", b"", None, {"HTTP_AUTHORIZATION": LONG}),
    ("NUL in a header", "GET", "/api/v1/me/", b"", None, {"HTTP_USER_AGENT": "x\x00y"}),
    (
        "NUL in session cookie",
        "GET",
        "/api/v1/me/",
        b"",
        None,
        {"HTTP_COOKIE": 'sessionid="\\000"'},
    ),
    ("NUL in entry token", "GET", "/entry/prolific/%00/", b"", None, {}),
    ("NUL in external token", "GET", "/entry/external/%00/?worker_id=W1", b"", None, {}),
    ("NUL in worker id", "GET", "/entry/prolific/{t}/?PROLIFIC_PID=%00", b"", None, {}),
    ("NUL in study id", "GET", "/entry/prolific/{t}/?PROLIFIC_PID=p1&STUDY_ID=a%00", b"", None, {}),
    ("over-long worker id", "GET", "/entry/prolific/{t}/?PROLIFIC_PID=" + "p" * 500, b"", None, {}),
    ("invalid UTF-8 worker id", "GET", "/entry/prolific/{t}/?PROLIFIC_PID=%FF%FE", b"", None, {}),
    (
        "over-long entry token",
        "GET",
        "/entry/prolific/" + "t" * 1500 + "/?PROLIFIC_PID=p1",
        b"",
        None,
        {},
    ),
    ("invalid UTF-8 entry token", "GET", "/entry/prolific/%C3%28/?PROLIFIC_PID=p1", b"", None, {}),
    ("POST to an entry link", "POST", "/entry/prolific/{t}/?PROLIFIC_PID=p1", b"", None, {}),
    (
        "NUL in log-in form",
        "POST",
        "/accounts/login/",
        b"username=admin%00&password=x",
        "application/x-www-form-urlencoded",
        {},
    ),
    (
        "NUL in admin log-in form",
        "POST",
        "/admin/login/",
        b"username=a&password=%00",
        "application/x-www-form-urlencoded",
        {},
    ),
    ("NUL in log-in query", "GET", "/accounts/login/?next=%00", b"", None, {}),
    ("NUL in admin search", "GET", "/admin/auth/user/?q=%00", b"", None, {}),
    (
        "NUL in token log-in",
        "POST",
        "/api/v1/auth/token/",
        _json({"username": "a\x00", "password": "x"}),
        "application/json",
        {},
    ),
    (
        "over-long token log-in",
        "POST",
        "/api/v1/auth/token/",
        _json({"username": LONG, "password": LONG}),
        "application/json",
        {},
    ),
    (
        "token log-in with a list",
        "POST",
        "/api/v1/auth/token/",
        _json({"username": ["a"], "password": {"b": 1}}),
        "application/json",
        {},
    ),
    ("deep token log-in", "POST", "/api/v1/auth/token/", DEEP, "application/json", {}),
    ("form token log-in", "POST", "/api/v1/auth/token/", b"username=a", "multipart/form-data", {}),
]


@pytest.fixture
def world(db, make_user):
    batch = BatchFactory(name="hostile", overlap=1)
    for _ in range(3):
        PairFactory(batch=batch)
    lifecycle.batch_entry_configure(
        batch=batch, actor=None, enabled=True, pairs_required=1, completion_code="C0DE42"
    )
    batch.refresh_from_db()
    user = make_user()
    client = client_for(user)
    assignment = client.post(NEXT, {}, format="json").json()
    return {"client": client, "assignment": assignment["id"], "token": batch.entry_token}


def _stored() -> dict[str, int]:
    return {
        "annotations": Annotation.objects.count(),
        "assignments": Assignment.objects.count(),
        "open": Assignment.objects.filter(status=Assignment.Status.OPEN).count(),
        "reports": PairReport.objects.count(),
        "identities": ExternalIdentity.objects.count(),
        "users": get_user_model().objects.count(),
        "tokens": Token.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def _message(response) -> str:
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert isinstance(body.get("code"), str) and body["code"], body
        return body["detail"]
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "headers"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
def test_hostile_request_gets_a_4xx_with_a_message_and_stores_nothing(
    world, method, path, body, content_type, headers
):
    path = path.replace("{a}", world["assignment"]).replace("{t}", world["token"])
    # A header of the caller's own goes through a client without the annotator's token.
    client: APIClient = APIClient() if "HTTP_AUTHORIZATION" in headers else world["client"]
    before = _stored()
    kwargs = {"content_type": content_type} if content_type else {}
    response = client.generic(method, path, body, **kwargs, **headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert _message(response).strip(), response.content[:300]
    assert _stored() == before


def test_the_issues_two_server_errors_are_400s_naming_the_problem(world):
    client: APIClient = world["client"]
    deep = client.generic(
        "POST", f"/api/v1/assignments/{world['assignment']}/submit/", DEEP, "application/json"
    )
    assert deep.status_code == 400
    assert "nested deeper than the limit" in deep.json()["detail"]
    nul = APIClient().get("/entry/prolific/%00/")
    assert nul.status_code == 404
    assert "control character" in nul.content.decode()


def test_the_caller_still_works_after_the_hostile_requests(world):
    """The limits refuse input, not the caller: an ordinary submit goes through."""
    client: APIClient = world["client"]
    for _, method, path, body, content_type, headers in HOSTILE[:12]:
        path = path.replace("{a}", world["assignment"]).replace("{t}", world["token"])
        client.generic(method, path, body, content_type=content_type or "", **headers)
    response = client.post(
        f"/api/v1/assignments/{world['assignment']}/submit/", answers(), format="json"
    )
    assert response.status_code in (200, 201), response.content
    assert Annotation.objects.count() == 1
