"""The one-statement token check (accounts/tokens.py) means DRF's check plus the role query.

On PostgreSQL the token, its user and the user's role names come from one statement. Its
meaning is DRF's own `authenticate_credentials` followed by the group query `roles.has_role`
runs: for every kind of caller both must give the same user (field by field), the same
token and the same role names, or the same error.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from rest_framework import authentication as drf_authentication
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation_server.accounts import roles
from annotation_server.accounts.tokens import TokenAuthentication

pytestmark = pytest.mark.django_db


def _by_statement(key: str):
    assert connection.vendor == "postgresql"
    try:
        user, token = TokenAuthentication().authenticate_credentials(key)
    except exceptions.AuthenticationFailed as error:
        return {"error": str(error.detail)}
    return {
        "user": model_to_dict(user),
        "pk": user.pk,
        "token": (token.key, token.user_id, token.created),
        "roles": user._role_cache,
    }


def _by_drf(key: str):
    try:
        user, token = drf_authentication.TokenAuthentication().authenticate_credentials(key)
    except exceptions.AuthenticationFailed as error:
        return {"error": str(error.detail)}
    return {
        "user": model_to_dict(user),
        "pk": user.pk,
        "token": (token.key, token.user_id, token.created),
        "roles": set(user.groups.values_list("name", flat=True)),
    }


def _both(key: str) -> dict:
    by_statement, by_drf = _by_statement(key), _by_drf(key)
    assert by_statement == by_drf
    return by_statement


@pytest.mark.parametrize("role", roles.ROLES)
def test_a_live_user_with_one_role(make_user, role):
    user = make_user(role)
    token = Token.objects.create(user=user)
    seen = _both(token.key)
    assert seen["pk"] == user.pk and seen["roles"] == {role}


def test_a_user_with_several_roles_and_one_with_none(make_user):
    user = make_user(roles.REVIEWER)
    user.groups.add(roles.role_groups()[roles.ANNOTATOR])
    seen = _both(Token.objects.create(user=user).key)
    assert seen["roles"] == {roles.REVIEWER, roles.ANNOTATOR}

    bare = make_user()
    bare.groups.clear()
    seen = _both(Token.objects.create(user=bare).key)
    assert seen["roles"] == set() and seen["pk"] == bare.pk


def test_inactive_and_unknown_callers_get_the_same_message(make_user):
    user = make_user()
    token = Token.objects.create(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert _both(token.key) == {"error": "User inactive or deleted."}
    assert _both("0" * 40) == {"error": "Invalid token."}


def test_a_revoked_token_is_refused_on_the_next_request(make_user):
    user = make_user()
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/me/").status_code == 200
    token.delete()
    refused = client.get("/api/v1/me/")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Invalid token."
    assert _both(token.key) == {"error": "Invalid token."}
