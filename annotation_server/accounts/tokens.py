"""API token authentication: DRF's TokenAuthentication, reading the user's roles with the token.

Every worker request checks a token and then a role (annotator, reviewer, admin). DRF's own
check is an ORM query compiled per request, and the role check a second one; together they
cost more web CPU than the claim itself (docs/benchmarks.md). On PostgreSQL the token, its
user and the user's role names come from one plain statement; the header parsing, errors and
result are DRF's. Its meaning is DRF's `authenticate_credentials` followed by
`roles.has_role`'s group query, which is what runs on other databases;
`tests/accounts/test_token_statement.py` compares both for live, unknown, inactive and
role-less callers. A deleted (revoked) token is refused on its next request: nothing is cached.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            user, token = super().authenticate_credentials(key)
            user._role_cache = set(user.groups.values_list("name", flat=True))
            return user, token
        with connection.cursor() as cursor:
            cursor.execute(_statement(), [key])
            rows = cursor.fetchall()
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        User = get_user_model()
        n = len(User._meta.concrete_fields)
        user = User.from_db(connection.alias, _user_attnames(), rows[0][:n])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # Read by accounts.roles.has_role instead of a query of its own.
        user._role_cache = {row[n + 1] for row in rows if row[n + 1] is not None}
        token = Token.from_db(
            connection.alias, ["key", "user_id", "created"], [key, user.pk, rows[0][n]]
        )
        token.user = user
        return user, token


@functools.cache
def _user_attnames() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


@functools.cache
def _statement() -> str:
    User = get_user_model()
    columns = ", ".join(f"u.{field.column}" for field in User._meta.concrete_fields)
    user_groups = User.groups.through._meta.db_table
    group = User.groups.field.related_model._meta.db_table
    return (
        f"SELECT {columns}, t.created, g.name FROM {Token._meta.db_table} t"
        f" JOIN {User._meta.db_table} u ON u.id = t.user_id"
        f" LEFT JOIN {user_groups} ug ON ug.user_id = u.id"
        f" LEFT JOIN {group} g ON g.id = ug.group_id"
        " WHERE t.key = %s"
    )
