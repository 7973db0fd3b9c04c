"""Token authentication that loads the user's roles in the same query as the token.

Every worker request checks a role (annotator, reviewer, admin); reading the role groups
with the token saves one statement per request on the hot claim and submit paths.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from annotation_server.core import sql

_AGGREGATE = {"postgresql": "string_agg(g.name, ',')", "sqlite": "group_concat(g.name, ',')"}


def _role_names_sql(user_column: str) -> str | None:
    aggregate = _AGGREGATE.get(connection.vendor)
    if aggregate is None:
        return None
    return (
        f"SELECT {aggregate} FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id "
        f"WHERE ug.user_id = {user_column}"
    )


class TokenWithRolesAuthentication(TokenAuthentication):
    """DRF's token check (same header, same errors) plus the role cache of accounts.roles."""

    def authenticate_credentials(self, key):
        if connection.vendor == "postgresql":
            return self._authenticate_postgresql(key)
        sql = _role_names_sql('"authtoken_token"."user_id"')
        if sql is None:
            return super().authenticate_credentials(key)
        token = (
            self.get_model()
            .objects.select_related("user")
            .annotate(role_names=RawSQL(sql, ()))
            .filter(key=key)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user._role_cache = set(filter(None, (token.role_names or "").split(",")))
        return (user, token)

    def _authenticate_postgresql(self, key):
        # Every API request runs this: plain SQL, built once, instead of compiling the ORM
        # query above each time (same rows, same errors).
        user_model = get_user_model()
        with connection.cursor() as cursor:
            cursor.execute(_token_sql(), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        created, role_names, *user_values = row
        user = user_model.from_db(connection.alias, sql.attnames(user_model), user_values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user._role_cache = set(filter(None, (role_names or "").split(",")))
        token = self.get_model().from_db(
            connection.alias, ["key", "user_id", "created"], (key, user.pk, created)
        )
        token.user = user
        return (user, token)


@functools.cache
def _token_sql() -> str:
    user_model = get_user_model()
    meta = user_model._meta
    columns = ", ".join(f'u."{field.column}"' for field in meta.concrete_fields)
    return (
        f'SELECT t."created", ({_role_names_sql("t.user_id")}), {columns} '
        f'FROM "authtoken_token" t JOIN "{meta.db_table}" u ON u."{meta.pk.column}" = t."user_id" '
        'WHERE t."key" = %s'
    )
