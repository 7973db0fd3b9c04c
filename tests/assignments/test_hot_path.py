"""Everyday claims and submits are served flat by HotPathMiddleware (PostgreSQL): a worker or an
attacker must not be able to tell it from the usual way through DRF — the same status, body
and headers for token and browser callers, in each language, over HTTPS — and every other
request must be answered exactly as the usual way answers it, with nothing claimed or stored
that the usual way would not.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.views import APIView

from annotation_server.accounts import authentication
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.hot_path import HotPathMiddleware
from annotation_server.assignments.models import Assignment
from tests.assignments.workload import (
    NEXT,
    answers,
    browser_for,
    client_for,
    deactivate,
    make_batch,
    make_reviewer_only,
    submit,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_claim_sweep")]


@pytest.fixture
def dispatched(monkeypatch):
    """The number of requests DRF's views dispatched (the usual way) so far."""
    calls = []
    usual_dispatch = APIView.dispatch

    def counting(self, request, *args, **kwargs):
        calls.append(request.path)
        return usual_dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "dispatch", counting)
    return calls


@pytest.fixture
def usual_way(monkeypatch):
    """Call to make every following request go the usual way."""

    def switch_off():
        monkeypatch.setattr(HotPathMiddleware, "_serve", lambda self, *args: None)

    return switch_off


def _seen(response) -> tuple:
    """What a client can observe of a response (the date-free parts)."""
    return response.status_code, dict(response.headers), response.content


def _known(client):
    """The client after a first claim, which goes the usual way and leaves a hint; returns
    that claim's assignment id (still open)."""
    response = client.post(NEXT, {}, format="json")
    assert response.status_code == 200
    return response.json()["id"]


CALLERS = {"token": client_for, "browser": browser_for}
LANGUAGES = {
    "english": {},
    "chinese (Accept-Language)": {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"},
    "chinese (language cookie)": {"cookie": "zh-hans"},
}


@pytest.mark.parametrize("language", LANGUAGES.values(), ids=LANGUAGES.keys())
@pytest.mark.parametrize("make_client", CALLERS.values(), ids=CALLERS.keys())
def test_flat_answers_equal_the_usual_ones(make_user, dispatched, usual_way, make_client, language):
    make_batch(4)
    user = make_user()
    client = make_client(user)
    extra = dict(language)
    if "cookie" in extra:
        client.cookies["django_language"] = extra.pop("cookie")
    first = _known(client)
    assert submit(client, first).status_code == 201
    dispatched.clear()

    claimed = client.post(NEXT, {}, format="json", **extra)
    stored = client.post(
        f"/api/v1/assignments/{claimed.json()['id']}/submit/", answers(), format="json", **extra
    )
    repeated = client.post(
        f"/api/v1/assignments/{claimed.json()['id']}/submit/", answers(), format="json", **extra
    )
    second = client.post(NEXT, {}, format="json", **extra)  # a new claim, left open
    # The worker app claims the following pair ahead, while the worker annotates `second`.
    ahead = client.post(NEXT, {"prefetch": True}, format="json", **extra)
    assert dispatched == []  # all five served flat
    assert ahead.status_code == 200 and ahead.json()["id"] != second.json()["id"]
    assert (claimed.status_code, stored.status_code, repeated.status_code) == (200, 201, 200)
    assert Annotation.objects.filter(annotator=user).count() == 2

    usual_way()
    resumed = client.post(NEXT, {}, format="json", **extra)  # the usual way resumes `second`
    ahead_again = client.post(NEXT, {"prefetch": True}, format="json", **extra)  # and `ahead`
    repeated_usual = client.post(
        f"/api/v1/assignments/{claimed.json()['id']}/submit/", answers(), format="json", **extra
    )
    assert len(dispatched) == 3
    assert _seen(second) == _seen(resumed)
    assert _seen(ahead) == _seen(ahead_again)
    assert _seen(repeated) == _seen(repeated_usual)
    assert dict(stored.headers) == dict(repeated_usual.headers) | {
        "Content-Length": stored["Content-Length"]
    }
    if extra or client.cookies.get("django_language"):
        assert claimed["Content-Language"] == "zh-hans"
    if make_client is browser_for:
        assert "Cookie" in claimed["Vary"]


@override_settings(SECURE_HSTS_SECONDS=3600, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_https_answers_equal_the_usual_ones(make_user, dispatched, usual_way):
    make_batch(2)
    client = client_for(make_user())
    _known(client)
    dispatched.clear()
    flat = client.post(NEXT, {}, format="json", secure=True)  # resumes the open one
    usual_way()
    usual = client.post(NEXT, {}, format="json", secure=True)
    assert dispatched == [NEXT]
    assert "max-age=3600" in flat["Strict-Transport-Security"]
    assert _seen(flat) == _seen(usual)


def _known_by(make_client, then=lambda user, client: None):
    """A prepare step: the user's client after a first claim (a hint learnt), then `then`."""

    def prepare(user):
        client = make_client(user)
        _known(client)
        then(user, client)
        return client

    return prepare


def _refusals():
    """(name, how to prepare the account and client, the request) for requests the hot path
    must leave to the usual way; each prepare returns the client."""
    known_token, known_browser = _known_by(client_for), _known_by(browser_for)
    # The X-CSRFToken header is gone.
    without_csrf = _known_by(browser_for, lambda user, client: client.credentials())
    deactivated = _known_by(client_for, lambda user, client: deactivate(user))
    lost_role = _known_by(browser_for, lambda user, client: make_reviewer_only(user))

    def new_session(user):
        return browser_for(user)  # no hint yet: its first request

    claim = ("post", NEXT, {})
    return {
        "invalid submit": (known_token, ("post", "/api/v1/assignments/{open}/submit/", {})),
        "unknown assignment": (
            known_token,
            ("post", "/api/v1/assignments/5e3c9bb6-0000-4000-8000-000000000000/submit/", None),
        ),
        "malformed assignment id": (known_browser, ("post", "/api/v1/assignments/x/submit/", None)),
        "query string": (known_token, ("post", NEXT + "?prefetch=1", {})),
        "unknown batch": (known_browser, ("post", NEXT, {"batch": "no-such-batch"})),
        "html accepted only": (known_token, ("post", NEXT, {}, {"HTTP_ACCEPT": "text/html"})),
        "form body": (known_token, ("form", NEXT, {"batch": "x"})),
        "CSRF header missing": (without_csrf, claim),
        "deactivated": (deactivated, claim),
        "annotator role lost": (lost_role, claim),
        "first request of a session": (new_session, claim),
    }


REFUSALS = _refusals()


def _send(client, request, open_id):
    method, path, body, *extra = request
    path = path.format(open=open_id)
    if body is None:
        body = answers()
    headers = extra[0] if extra else {}
    if method == "form":
        return client.post(path, body, **headers)
    return client.post(path, body, format="json", **headers)


@pytest.mark.parametrize("prepare, request_", REFUSALS.values(), ids=REFUSALS.keys())
def test_other_requests_are_answered_the_usual_way(
    make_user, dispatched, usual_way, prepare, request_
):
    make_batch(3)
    user = make_user()
    client = prepare(user)
    opened = Assignment.objects.filter(annotator=user, status="open").first()
    open_id = opened.pk if opened else "none"
    before = (Assignment.objects.count(), Annotation.objects.count())
    dispatched.clear()

    answered = _send(client, request_, open_id)
    assert len(dispatched) == 1  # the DRF view answered it
    state = (Assignment.objects.count(), Annotation.objects.count())

    usual_way()
    authentication._TOKEN_USERS.clear()
    authentication._SESSION_USERS.clear()
    again = _send(client, request_, open_id)
    assert (answered.status_code, answered.content) == (again.status_code, again.content)
    assert state == before or answered.status_code == 200  # a refusal stores nothing


def test_nothing_left_is_answered_the_usual_way(make_user, dispatched):
    make_batch(1)
    client = client_for(make_user())
    assert submit(client, _known(client)).status_code == 201
    dispatched.clear()
    assert client.post(NEXT, {}, format="json").status_code == 204
    assert dispatched == [NEXT]


class _TemplateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_template_response(self, request, response):
        return response


HOT = "annotation_server.assignments.hot_path.HotPathMiddleware"
SECURITY = "django.middleware.security.SecurityMiddleware"
OTHER = f"{__name__}._TemplateMiddleware"


@pytest.mark.parametrize(
    "middleware, enabled",
    [
        ([HOT, SECURITY], True),
        ([SECURITY, HOT], False),  # not first: an earlier middleware would be skipped
        ([HOT, SECURITY, OTHER], False),  # a middleware Django runs in ways the path does not
    ],
    ids=["first", "not first", "unsupported middleware"],
)
def test_steps_aside_for_a_chain_it_cannot_flatten(middleware, enabled):
    with override_settings(MIDDLEWARE=middleware):
        assert HotPathMiddleware(lambda request: None).enabled is enabled


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=200)
def test_a_body_too_large_is_answered_the_usual_way(make_user, dispatched, usual_way):
    make_batch(2)
    client = client_for(make_user())
    open_id = _known(client)
    dispatched.clear()
    path = f"/api/v1/assignments/{open_id}/submit/"
    flat = client.post(path, answers(), format="json")
    usual_way()
    usual = client.post(path, answers(), format="json")
    assert flat.status_code == 400 and dispatched == [path, path]
    assert _seen(flat) == _seen(usual)
    assert not Annotation.objects.exists()
