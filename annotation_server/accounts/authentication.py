"""Token authentication that loads the user's roles in the same query as the token.

Every worker request checks a role (annotator, reviewer, admin); reading the role groups
with the token saves one statement per request on the hot claim and submit paths.

The hottest endpoints (claim, submit, skip and report) go one step further: their work is one
SQL statement anyway, so the token is checked *inside* that statement (`TokenInStatementMixin`):
one round trip per request instead of two. A statement needs the caller's user id as a plain
parameter (the claim uses it in eight places), so each process remembers which user id a
token key belonged to when it last authenticated it the usual way (`_TOKEN_USERS`, a hint
only); the statement then re-checks, on the rows it reads in the same snapshot, that this
key still belongs to that user, that the user is active and may do the work, and only then
writes. It returns the caller's row, so `request.user` is built from fresh data exactly as the
usual path would build it; when the key is unknown to the process, or the statement finds no
such token for that user, the request takes the usual way (same answers, same errors).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from annotation_server.core import sql

_AGGREGATE = {"postgresql": "string_agg(g.name, ',')", "sqlite": "group_concat(g.name, ',')"}

# Token key -> the user id it belonged to when this process last authenticated it. Only a
# hint for the statement (which re-checks it); bounded by starting over when full.
_TOKEN_USERS: dict[str, int] = {}
_TOKEN_USERS_MAX = 100_000


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
        with connection.cursor() as cursor:
            cursor.execute(_token_sql(), [key])
            row = cursor.fetchone()
        if row is None:
            _TOKEN_USERS.pop(key, None)
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user, token = _user_and_token(self.get_model(), key, row)
        if len(_TOKEN_USERS) >= _TOKEN_USERS_MAX:
            _TOKEN_USERS.clear()
        _TOKEN_USERS[key] = user.pk
        return (user, token)


def _user_and_token(token_model, key: str, row):
    """The user (with its role cache) and token from a row of `_caller_columns()`; raises
    DRF's error for an inactive user."""
    user_model = get_user_model()
    created, role_names, *user_values = row
    user = user_model.from_db(connection.alias, sql.attnames(user_model), user_values)
    if not user.is_active:
        raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
    user._role_cache = set(filter(None, (role_names or "").split(",")))
    token = token_model.from_db(
        connection.alias, ["key", "user_id", "created"], (key, user.pk, created)
    )
    token.user = user
    return user, token


@functools.cache
def _caller_columns() -> str:
    """The token's creation time, the user's role names, then every user column."""
    columns = ", ".join(f'u."{field.column}"' for field in get_user_model()._meta.concrete_fields)
    return f'SELECT t."created", ({_role_names_sql("t.user_id")}) AS role_names, {columns}'


@functools.cache
def _token_sql() -> str:
    meta = get_user_model()._meta
    return (
        f'{_caller_columns()} FROM "authtoken_token" t '
        f'JOIN "{meta.db_table}" u ON u."{meta.pk.column}" = t."user_id" WHERE t."key" = %s'
    )


# --- The token checked inside the endpoint's own statement -----------------------------------


class TokenCaller(NamedTuple):
    """A request's token key and the user id this process last saw it belong to (a hint)."""

    key: str
    user_id: int

    def params(self) -> dict:
        """The statement's parameters for `caller_cte_sql` (the user id is `%(user)s`)."""
        return {"token": self.key, "user": self.user_id}


@functools.cache
def caller_width() -> int:
    """Number of leading columns a statement's result row gives to the caller."""
    return 2 + len(get_user_model()._meta.concrete_fields)


@functools.cache
def caller_cte_sql() -> str:
    """`caller AS (...)`: the token's row joined to its user, if the key (`%(token)s`) still
    belongs to user `%(user)s`; the same columns as the usual token lookup."""
    meta = get_user_model()._meta
    return (
        f'caller AS ({_caller_columns()} FROM "authtoken_token" t '
        f'JOIN "{meta.db_table}" u ON u."{meta.pk.column}" = t."user_id" '
        f'WHERE t."key" = %(token)s AND t."user_id" = %(user)s)'
    )


def caller_result_sql(select: str) -> str:
    """A statement's result for a token caller: the caller's row, then the columns of
    `select` (NULLs when it has no row, i.e. the statement did nothing)."""
    return f"SELECT caller.*, done.* FROM caller LEFT JOIN ({select}) done ON true"


def split_caller_row(row) -> tuple[tuple | None, tuple | None]:
    """A `caller_result_sql` row as (the caller's row, the rest): (None, None) when no row
    came back (no such token for that user), the rest None when the statement did nothing."""
    if row is None:
        return None, None
    width = caller_width()
    rest = row[width:]
    return row[:width], None if rest[0] is None else rest


@functools.cache
def caller_may_sql(role: str) -> str:
    """True when the caller is active and has `role` (superusers have every role): the
    permission the endpoint checks (accounts.roles.has_role), on the statement's own rows.
    At least as strict as the check the view runs afterwards on the user it builds."""
    meta = get_user_model()._meta
    active = meta.get_field("is_active").column
    superuser = meta.get_field("is_superuser").column
    return (
        f'EXISTS (SELECT 1 FROM caller WHERE caller."{active}" AND (caller."{superuser}" '
        f"OR '{role}' = ANY (string_to_array(caller.role_names, ','))))"
    )


def token_caller(request) -> TokenCaller | None:
    """The request's token and its hinted user, when the endpoint may check them in its
    statement: PostgreSQL, a well-formed `Authorization: Token <key>` header for the token
    authenticator, a key this process has authenticated before. None otherwise (the usual
    authentication then runs, with its errors for malformed headers)."""
    if connection.vendor != "postgresql" or not request.authenticators:
        return None
    if type(request.authenticators[0]) is not TokenWithRolesAuthentication:
        return None
    auth = get_authorization_header(request).split()
    if len(auth) != 2 or auth[0].lower() != b"token":
        return None
    try:
        key = auth[1].decode()
    except UnicodeError:
        return None
    user_id = _TOKEN_USERS.get(key)
    return None if user_id is None else TokenCaller(key, user_id)


class TokenInStatementMixin:
    """For an APIView whose work is one statement that checks the token itself.

    With a `token_caller`, DRF's authentication and permission checks are postponed: the
    handler calls its service through `call_service`, whose by-token form passes the caller
    to its statement (which writes nothing unless `caller_may_sql` holds) and then calls
    `authenticated_user` with the caller's row from that statement — from then on
    `request.user` and the permission checks are exactly those of the usual path. Any error
    raised before that (unparsable body, invalid input, a database error) first authenticates
    the usual way, so a request with a bad token still gets 401 rather than a validation error.
    """

    caller: TokenCaller | None = None

    def perform_authentication(self, request):
        self.caller = token_caller(request)
        if self.caller is None:
            super().perform_authentication(request)

    def check_permissions(self, request):
        if self.caller is None:
            super().check_permissions(request)

    def call_service(self, request, usual, by_token, **kwargs):
        """`by_token(caller=…, authenticate=…, **kwargs)` when the token is to be checked in
        the service's statement, else `usual(annotator=request.user, **kwargs)`."""
        caller = self.pending_caller(request)
        if caller is None:
            return usual(annotator=request.user, **kwargs)
        authenticate = functools.partial(self.authenticated_user, request)
        return by_token(caller=caller, authenticate=authenticate, **kwargs)

    def pending_caller(self, request) -> TokenCaller | None:
        """The caller to check in the statement, or None when `request.user` is known."""
        if self.caller is not None and hasattr(request, "_user"):
            # Something read request.user meanwhile: DRF authenticated it the usual way.
            self.caller = None
            super().check_permissions(request)
        return self.caller

    def authenticated_user(self, request, row):
        """After the statement: `row` is its caller part (None when it found no such token
        for the hinted user). Authenticates the request (raising 401/403 as the usual path
        would) and returns `request.user`."""
        caller, self.caller = self.caller, None
        if row is None:
            super().perform_authentication(request)  # the usual lookup, with its errors
        else:
            authenticator = request.authenticators[0]
            try:
                user, token = _user_and_token(authenticator.get_model(), caller.key, row)
            except exceptions.APIException:
                request._not_authenticated()  # as DRF leaves a request it refused
                raise
            request._authenticator = authenticator
            request.user, request.auth = user, token
        super().check_permissions(request)
        return request.user

    def handle_exception(self, exc):
        if self.caller is not None:
            self.caller = None
            try:
                super().perform_authentication(self.request)
                super().check_permissions(self.request)
            except exceptions.APIException as auth_exc:
                exc = auth_exc
        return super().handle_exception(exc)
