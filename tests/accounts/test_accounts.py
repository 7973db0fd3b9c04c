"""Annotator accounts from the command line, and API tokens for them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from annotation_server.accounts import roles


def test_create_annotators_prints_working_log_ins(db, client):
    out = StringIO()
    call_command(
        "create_annotators", "--count", "3", "--prefix", "crowd", stdout=out, stderr=StringIO()
    )
    logins = [line.split("\t") for line in out.getvalue().splitlines()]

    assert [name for name, _ in logins] == ["crowd001", "crowd002", "crowd003"]
    for username, password in logins:
        user = get_user_model().objects.get(username=username)
        assert roles.is_annotator(user) and not user.is_staff
        assert client.login(username=username, password=password)
    assert len({pw for _, pw in logins}) == 3  # random passwords, one each


def test_create_annotators_continues_numbering_and_shares_a_given_password(db, client):
    call_command("create_annotators", "--count", "2", stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command(
        "create_annotators",
        "--count",
        "2",
        "--password",
        "same-password-1",
        stdout=out,
        stderr=StringIO(),
    )
    assert out.getvalue().split() == [
        "annotator003",
        "same-password-1",
        "annotator004",
        "same-password-1",
    ]
    assert get_user_model().objects.filter(username__startswith="annotator").count() == 4
    assert client.login(username="annotator004", password="same-password-1")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--count", "1", "--prefix", "a b/"], "--prefix may only use"),
    ],
)
def test_create_annotators_refuses_bad_arguments(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_annotators", *args, stdout=StringIO(), stderr=StringIO())
    assert get_user_model().objects.count() == 0


def test_token_from_username_and_password_authenticates_api_calls(db, make_user):
    user = make_user(roles.ANNOTATOR)
    api = APIClient()
    response = api.post(
        reverse("api-token"),
        {"username": user.username, "password": "pw-long-enough"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    # The same token again: a second log-in does not invalidate the first client.
    again = api.post(
        reverse("api-token"),
        {"username": user.username, "password": "pw-long-enough"},
        format="json",
    )
    assert again.json()["token"] == token

    me = reverse("api-me")
    assert api.get(me).status_code in (401, 403)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get(me)
    assert response.status_code == 200 and response.json()["username"] == user.username
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get(me).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"username": "someone", "password": "wrong-password"},
        {"username": "nobody", "password": "pw-long-enough"},
    ],
)
def test_token_refused_for_wrong_credentials(db, make_user, body):
    make_user(roles.ANNOTATOR, username="someone")
    response = APIClient().post(reverse("api-token"), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert "token" not in response.json()


def test_token_refused_for_inactive_accounts_and_missing_fields(db, make_user):
    user = make_user(roles.ANNOTATOR)
    user.is_active = False
    user.save()
    api = APIClient()
    body = {"username": user.username, "password": "pw-long-enough"}
    assert api.post(reverse("api-token"), body, format="json").status_code == 400
    missing = api.post(reverse("api-token"), {"username": "x"}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()["errors"]
