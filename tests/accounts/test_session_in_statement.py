"""The worker's browser (session cookie + CSRF header) gets the same one-statement claim and
submit as a token (PostgreSQL): what a worker or an attacker can observe must be exactly what
the usual session check gives — the same statuses, error bodies and headers, nothing claimed
or stored for a caller who may not — while an everyday claim or submit costs one statement
instead of four (session, user, roles, work).
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation_server.accounts import authentication, roles
from annotation_server.accounts.sessions import SessionStore
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment, PairReport
from tests.assignments.workload import (
    CSRF,
    NEXT,
    answers,
    browser_for,
    deactivate,
    make_batch,
    make_reviewer_only,
    statements_run,
    submit,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_claim_sweep")]


def _known_browser(user) -> APIClient:
    """A browser whose session this process has already accepted the usual way."""
    client = browser_for(user)
    assert client.post(NEXT, {}, format="json").status_code == 200  # claims, then resumes
    assert authentication._SESSION_USERS[client.cookies["sessionid"].value][0] == user.pk
    return client


def _usual_way(client, path: str, body=None):
    """The same request with the process's session hints forgotten: the usual check."""
    authentication._SESSION_USERS.clear()
    return client.post(path, body, format="json")


def _one_statement(call):
    """The response of `call()`, which must have run one statement, checking the session."""
    with CaptureQueriesContext(connection) as queries:
        response = call()
    statements = statements_run(queries)
    assert len(statements) == 1 and "django_session" in statements[0]
    return response


def test_everyday_claim_submit_and_skip_are_one_statement_each(make_user):
    make_batch(3)
    user = make_user()
    browser = _known_browser(user)
    first = Assignment.objects.get(annotator=user)
    assert submit(browser, str(first.pk)).status_code == 201

    claimed = _one_statement(lambda: browser.post(NEXT, {}, format="json"))
    assert claimed.status_code == 200
    submitted = _one_statement(lambda: submit(browser, claimed.json()["id"]))
    assert submitted.status_code == 201
    skip = f"/api/v1/assignments/{browser.post(NEXT, {}, format='json').json()['id']}/skip/"
    skipped = _one_statement(lambda: browser.post(skip, {"reason": "unsure"}, format="json"))
    assert skipped.status_code == 200

    assert Annotation.objects.filter(annotator=user).count() == 2
    assert Assignment.objects.get(pk=skipped.json()["id"]).status == "skipped"
    # As after the usual session check, the response varies on the cookie.
    assert "Cookie" in claimed["Vary"]
    assert claimed["Vary"] == _usual_way(browser, NEXT, {})["Vary"]


def test_first_request_of_a_session_takes_the_usual_way(make_user):
    make_batch(1)
    user = make_user()
    browser = browser_for(user)
    authentication._SESSION_USERS.clear()
    with CaptureQueriesContext(connection) as queries:
        assert browser.post(NEXT, {}, format="json").status_code == 200
    statements = statements_run(queries)
    assert len(statements) == 4  # session, user, roles, then the claim
    assert "django_session" in statements[0]
    assert "django_session" not in statements[-1]
    session_key = browser.cookies["sessionid"].value
    assert authentication._SESSION_USERS[session_key] == (
        user.pk,
        Session.objects.get(pk=session_key).session_data,
        user.password,
    )


def _logged_out(user, client):
    client.logout()


def _password_changed(user, client):
    # Django ends every session of a user whose password changes (without re-login there).
    user.set_password("another-long-password")
    user.save(update_fields=["password"])


def _session_expired(user, client):
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))


_NOT_LOGGED_IN = (401, "Authentication credentials were not provided.")
_NOT_AN_ANNOTATOR = "Only annotator accounts can take and submit assignments."
# A change to the caller after their session became known, and the usual path's answer to it.
_REFUSALS = [
    (_logged_out, *_NOT_LOGGED_IN),
    (lambda user, client: deactivate(user), *_NOT_LOGGED_IN),
    (_password_changed, *_NOT_LOGGED_IN),
    (_session_expired, *_NOT_LOGGED_IN),
    (lambda user, client: make_reviewer_only(user), 403, _NOT_AN_ANNOTATOR),
]


@pytest.mark.parametrize(("change", "status", "detail"), _REFUSALS)
def test_a_caller_who_may_not_claim_gets_the_usual_answer_and_claims_nothing(
    make_user, change, status, detail
):
    make_batch(2)
    user = make_user()
    browser = _known_browser(user)
    Assignment.objects.all().delete()
    change(user, browser)
    session = browser.cookies.get("sessionid")

    response = browser.post(NEXT, {}, format="json")
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert not Assignment.objects.exists()
    if session is not None:
        browser.cookies["sessionid"] = session.value  # the usual way sees the same cookie
    usual = _usual_way(browser, NEXT, {})
    assert (usual.status_code, usual.json()) == (response.status_code, response.json())


@pytest.mark.parametrize(("change", "status", "detail"), _REFUSALS)
def test_a_caller_who_may_not_submit_or_report_changes_nothing(make_user, change, status, detail):
    make_batch(1)
    user = make_user()
    browser = _known_browser(user)
    assignment_id = str(Assignment.objects.get().pk)
    change(user, browser)

    response = submit(browser, assignment_id)
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    report = browser.post(
        f"/api/v1/assignments/{assignment_id}/report/", {"reason": "broken_video"}, format="json"
    )
    assert (report.status_code, report.json()["detail"]) == (status, detail)
    assert not Annotation.objects.exists() and not PairReport.objects.exists()
    assert Assignment.objects.get(pk=assignment_id).status == "open"
    path = f"/api/v1/assignments/{assignment_id}/submit/"
    usual = _usual_way(browser, path, answers())
    assert (usual.status_code, usual.json()) == (response.status_code, response.json())


@pytest.mark.parametrize(
    ("csrf", "reason"),
    [
        (None, "CSRF token missing."),
        ("x" * 32, "CSRF token from the 'X-Csrftoken' HTTP header incorrect."),
    ],
)
def test_a_known_session_without_the_right_csrf_token_is_refused_as_usual(make_user, csrf, reason):
    make_batch(2)
    user = make_user()
    session_key = _known_browser(user).cookies["sessionid"].value  # known to the process
    Assignment.objects.all().delete()
    forged = APIClient(enforce_csrf_checks=True)  # the same cookies, another CSRF header
    forged.cookies["sessionid"], forged.cookies["csrftoken"] = session_key, CSRF
    if csrf is not None:
        forged.credentials(HTTP_X_CSRFTOKEN=csrf)

    response = forged.post(NEXT, {}, format="json")
    assert (response.status_code, response.json()["detail"]) == (403, f"CSRF Failed: {reason}")
    assert not Assignment.objects.exists()
    usual = _usual_way(forged, NEXT, {})
    assert (usual.status_code, usual.json()) == (response.status_code, response.json())


def test_a_session_that_changed_hands_acts_for_its_new_user_only(make_user):
    # The process remembers which user a session belonged to; the statement must not trust
    # that once the session's stored data names someone else.
    make_batch(3)
    first, second = make_user(), make_user()
    browser = _known_browser(first)
    session_key = browser.cookies["sessionid"].value
    store = SessionStore(session_key)
    store["_auth_user_id"] = str(second.pk)
    store["_auth_user_hash"] = second.get_session_auth_hash()
    store.save()

    claimed = browser.post(NEXT, {}, format="json")
    assert claimed.status_code == 200
    assert Assignment.objects.get(pk=claimed.json()["id"]).annotator_id == second.pk
    assert submit(browser, claimed.json()["id"]).status_code == 201
    assert Annotation.objects.get().annotator_id == second.pk
    assert authentication._SESSION_USERS[session_key][0] == second.pk


def test_a_bad_session_is_refused_before_the_input_is_judged(make_user):
    make_batch(1)
    user = make_user()
    browser = _known_browser(user)
    assert browser.post(NEXT, {"prefetch": "maybe"}, format="json").status_code == 400
    browser.logout()
    browser.cookies["sessionid"] = next(iter(authentication._SESSION_USERS))
    response = browser.post(NEXT, {"prefetch": "maybe"}, format="json")
    assert (response.status_code, response.json()["detail"]) == _NOT_LOGGED_IN


def test_a_token_header_decides_alone(make_user):
    # With both a token and a session, DRF's token authenticator answers (it comes first).
    make_batch(2)
    annotator, reviewer = make_user(), make_user(roles.REVIEWER)
    browser = _known_browser(annotator)
    Assignment.objects.all().delete()
    browser.credentials(
        HTTP_X_CSRFTOKEN=CSRF,
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=reviewer).key}",
    )
    response = browser.post(NEXT, {}, format="json")
    assert response.status_code == 403
    assert not Assignment.objects.exists()
