"""Token authentication that loads the user's roles in the same query as the token.

Every worker request checks a role (annotator, reviewer, admin); reading the role groups
with the token saves one statement per request on the hot claim and submit paths.
"""

from __future__ import annotations

from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

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
