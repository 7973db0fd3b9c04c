"""Brute force on every log-in path is stopped per account and per client address (django-axes),
admins can unlock, and API tokens can be revoked with immediate effect."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation_server.accounts import roles
from annotation_server.batches import lifecycle
from annotation_server.core.models import AuditEvent
from tests.assignments.workload import client_for
from tests.factories import BatchFactory, PairFactory

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pw-long-enough"  # tests/conftest.py's make_user
LIMIT = 3


def _token(client, username, password, **extra):
    return client.post(
        TOKEN_URL, {"username": username, "password": password}, format="json", **extra
    )


def _form(client, username, password, url="/accounts/login/", **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_token_api_answers_429_with_retry_after_at_the_default_limit(make_user):
    """The issue's attack: 40 wrong passwords in a row. With the shipped settings (10 within
    15 minutes) the 10th try and every later one is a 429, the right password too."""
    user = make_user()
    client = APIClient()
    statuses = [_token(client, user.username, f"wrong-{n}").status_code for n in range(12)]
    assert statuses == [400] * 9 + [429] * 3
    locked = _token(client, user.username, PASSWORD)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    body = locked.json()
    assert body["code"] == "too_many_attempts"
    assert "Too many failed log-in attempts" in body["detail"] and "15 minute" in body["detail"]
    assert not Token.objects.filter(user=user).exists()
    # One audit event for the lock, not one per refused try.
    events = AuditEvent.objects.filter(verb="login.locked_out")
    assert [(e.target_id, e.details["ip_address"]) for e in events] == [(str(user.pk), "127.0.0.1")]


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_one_address_trying_many_accounts_is_locked_out(make_user):
    victims = [make_user() for _ in range(LIMIT + 1)]
    attacker = APIClient(REMOTE_ADDR="203.0.113.7")
    statuses = [_token(attacker, v.username, "guess").status_code for v in victims[:LIMIT]]
    assert statuses == [400] * (LIMIT - 1) + [429]
    # The address is locked for every account, even with the right password...
    assert _token(attacker, victims[LIMIT].username, PASSWORD).status_code == 429
    # ...while the same account from another address still logs in.
    other = APIClient(REMOTE_ADDR="198.51.100.2")
    assert _token(other, victims[LIMIT].username, PASSWORD).status_code == 200


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_one_account_tried_from_many_addresses_is_locked_out(make_user):
    user = make_user()
    for n in range(LIMIT):
        response = _token(APIClient(REMOTE_ADDR=f"192.0.2.{n + 1}"), user.username, "guess")
    assert response.status_code == 429
    fresh_address = APIClient(REMOTE_ADDR="192.0.2.200")
    assert _token(fresh_address, user.username, PASSWORD).status_code == 429


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_form_log_in_shows_the_lockout_on_the_form(client, make_user):
    user = make_user()
    for _ in range(LIMIT - 1):
        page = _form(client, user.username, "guess")
        assert page.status_code == 200
        assert "match. Please try again" in page.content.decode()
    page = _form(client, user.username, "guess")
    assert page.status_code == 429 and page["Retry-After"] == "900"
    html = page.content.decode()
    assert 'id="lockout"' in html and "Too many failed log-in attempts" in html
    assert '<form method="post"' in html  # the form stays, with the message above it
    refused = _form(client, user.username, PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_admin_log_in_is_limited_too(client, make_user):
    admin_user = make_user(roles.ADMIN)
    for _ in range(LIMIT):
        page = _form(client, admin_user.username, "guess", url="/admin/login/?next=/admin/")
    assert page.status_code == 429
    assert "Too many failed log-in attempts" in page.content.decode()
    assert _form(client, admin_user.username, PASSWORD, url="/admin/login/").status_code == 429


@pytest.fixture
def study(db):
    batch = BatchFactory(name="study", overlap=1)
    PairFactory(batch=batch)
    return lifecycle.batch_entry_configure(
        batch=batch, actor=None, enabled=True, pairs_required=1, completion_code="C0DE42"
    )


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_guessing_study_links_is_limited_per_address(client, study):
    statuses = [
        client.get(f"/entry/prolific/guess{n}/", {"PROLIFIC_PID": f"pid{n}"}).status_code
        for n in range(LIMIT)
    ]
    assert statuses == [404] * (LIMIT - 1) + [429]
    # While locked, even the real link is refused from this address, with a message.
    page = client.get(f"/entry/prolific/{study.entry_token}/", {"PROLIFIC_PID": "pid-real"})
    assert page.status_code == 429 and "Too many failed log-in attempts" in page.content.decode()
    assert page["Retry-After"] == "900"
    # Another address is not affected.
    other = client.get(
        f"/entry/prolific/{study.entry_token}/",
        {"PROLIFIC_PID": "pid-real"},
        REMOTE_ADDR="10.1.1.1",
    )
    assert other.status_code == 302


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_admin_unlocks_an_account_from_the_users_admin(client, make_user):
    user = make_user()
    for _ in range(LIMIT):
        _token(APIClient(), user.username, "guess")
    assert _token(APIClient(), user.username, PASSWORD).status_code == 429
    admin_client = APIClient(REMOTE_ADDR="10.9.9.9")
    admin_client.force_login(make_user(roles.ADMIN))
    response = admin_client.post(
        "/admin/auth/user/", {"action": "unlock_login", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    assert _token(APIClient(), user.username, PASSWORD).status_code == 200
    assert AuditEvent.objects.filter(verb="login.unlock", target_id=str(user.pk)).exists()


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_manage_py_command_unlocks_an_account(make_user):
    user = make_user()
    for _ in range(LIMIT):
        _token(APIClient(), user.username, "guess")
    assert AccessAttempt.objects.filter(username=user.username).exists()
    call_command("axes_reset_username", user.username)
    assert _token(APIClient(), user.username, PASSWORD).status_code == 200


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=LIMIT)
def test_a_spoofed_proxy_header_does_not_escape_the_limit(make_user):
    """Directly exposed (the default), X-Real-IP is the client's own claim and is ignored."""
    users = [make_user() for _ in range(LIMIT + 1)]
    for n, user in enumerate(users[:LIMIT]):
        _token(APIClient(HTTP_X_REAL_IP=f"198.18.0.{n}"), user.username, "guess")
    spoofed = APIClient(HTTP_X_REAL_IP="198.18.0.99")
    assert _token(spoofed, users[LIMIT].username, PASSWORD).status_code == 429


@pytest.mark.django_db
@override_settings(
    AXES_FAILURE_LIMIT=LIMIT, AXES_IPWARE_META_PRECEDENCE_ORDER=["HTTP_X_REAL_IP", "REMOTE_ADDR"]
)
def test_behind_the_proxy_the_client_address_comes_from_its_header(make_user):
    """Behind nginx every request arrives from the proxy's address; X-Real-IP tells clients
    apart, so one client's lockout does not lock everyone out."""
    users = [make_user() for _ in range(LIMIT + 1)]
    for user in users[:LIMIT]:
        _token(APIClient(HTTP_X_REAL_IP="203.0.113.50"), user.username, "guess")
    attacker = APIClient(HTTP_X_REAL_IP="203.0.113.50")
    assert _token(attacker, users[LIMIT].username, PASSWORD).status_code == 429
    neighbour = APIClient(HTTP_X_REAL_IP="203.0.113.51")
    assert _token(neighbour, users[LIMIT].username, PASSWORD).status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.50"}


@pytest.mark.django_db
def test_log_out_revokes_the_token_at_once(make_user):
    user = make_user()
    client = client_for(user)
    assert client.get("/api/v1/me/").status_code == 200
    assert client.post("/api/v1/auth/logout/").status_code == 204
    refused = client.get("/api/v1/me/")
    assert refused.status_code == 401
    assert not Token.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(verb="token.revoke", target_id=str(user.pk)).exists()
    # A new log-in issues a new, working token.
    key = _token(APIClient(), user.username, PASSWORD).json()["token"]
    again = APIClient()
    again.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert again.get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_log_out_needs_a_caller(client):
    response = APIClient().post("/api/v1/auth/logout/")
    assert response.status_code in (401, 403) and response.json()["detail"]


@pytest.mark.django_db
def test_admin_revokes_a_token_and_it_stops_working_at_once(make_user):
    user = make_user()
    client = client_for(user)
    assert client.get("/api/v1/me/").status_code == 200
    admin_client = APIClient()
    admin_client.force_login(make_user(roles.ADMIN))
    response = admin_client.post(
        "/admin/auth/user/", {"action": "revoke_tokens", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me/").status_code == 401
