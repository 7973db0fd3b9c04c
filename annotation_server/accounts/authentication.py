"""Token authentication that loads the user's roles in the same query as the token.

Every worker request checks a role (annotator, reviewer, admin); reading the role groups
with the token saves one statement per request on the hot claim and submit paths.

The hottest endpoints (claim, submit, skip and report) go one step further: their work is one
SQL statement anyway, so the caller is checked *inside* that statement
(`CallerInStatementMixin`): one round trip per request instead of two (a token) or four (a
browser's session: session, user, roles, work). A statement needs the caller's user id as a
plain parameter (the claim uses it in eight places), so each process remembers what it found
when it last authenticated a token key or session the usual way (`_TOKEN_USERS`,
`_SESSION_USERS`, hints only); the statement then re-checks, on the rows it reads in the same
snapshot, that they are still what the usual check accepted, that the user is active and may
do the work, and only then writes. It returns the caller's row, so `request.user` is built
from fresh data exactly as the usual path would build it; when the process knows no hint, or
the statement finds no such caller, the request takes the usual way (same answers, same
errors).

A session's hint is the user id, the session row's data as stored and the user's password
hash: Django accepts a session when its row is unexpired, its data names the user (and an
allowed backend) and carries an HMAC of that user's password hash. The statement requires
the same unexpired row with the same data and the same password hash, so it accepts exactly
when the usual check, run again, would. The CSRF check runs before the statement, as DRF's
SessionAuthentication runs it; when it fails, the usual way gives the refusal.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import (
    SessionAuthentication,
    TokenAuthentication,
    get_authorization_header,
)

from annotation_server.accounts.sessions import SessionStore
from annotation_server.core import sql

_AGGREGATE = {"postgresql": "string_agg(g.name, ',')", "sqlite": "group_concat(g.name, ',')"}

# Token key -> the user id it belonged to when this process last authenticated it; session
# key -> (user id, session data as stored, password hash) when this process last accepted it.
# Only hints for the statements (which re-check them); bounded by starting over when full.
_TOKEN_USERS: dict[str, int] = {}
_SESSION_USERS: dict[str, tuple[int, str, str]] = {}
_HINTS_MAX = 100_000


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
        _remember(_TOKEN_USERS, key, user.pk)
        return (user, token)


class SessionWithHintAuthentication(SessionAuthentication):
    """DRF's session check (same user, same CSRF check, same errors), remembering what it
    accepted for the hot statements (see the module's docstring)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            session = getattr(request._request, "session", None)
            data = getattr(session, "stored_data", None)
            # Only a session read as stored and left unchanged (Django rotates the key or
            # rewrites the data when it re-verifies a session with an old secret).
            if data is not None and not session.modified and session.session_key:
                user = result[0]
                _remember(_SESSION_USERS, session.session_key, (user.pk, data, user.password))
        return result


def _remember(hints: dict, key: str, value) -> None:
    if len(hints) >= _HINTS_MAX:
        hints.clear()
    hints[key] = value


def _user_from_row(row):
    """The user (with its role cache) from a row of `_caller_columns()`."""
    user_model = get_user_model()
    _, role_names, *user_values = row
    user = user_model.from_db(connection.alias, sql.attnames(user_model), user_values)
    user._role_cache = set(filter(None, (role_names or "").split(",")))
    return user


def active_user(row):
    """The user (with its role cache) from a row of `_caller_columns()` if it is active, as
    both the token and the session check require; else None."""
    user = _user_from_row(row)
    return user if user.is_active else None


def _user_and_token(token_model, key: str, row):
    """The user (with its role cache) and token from a row of `_caller_columns()`; raises
    DRF's error for an inactive user."""
    user = _user_from_row(row)
    if not user.is_active:
        raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
    created = row[0]
    token = token_model.from_db(
        connection.alias, ["key", "user_id", "created"], (key, user.pk, created)
    )
    token.user = user
    return user, token


@functools.cache
def _caller_columns(created: str = 't."created"', user_id: str = "t.user_id") -> str:
    """`created` (the token's creation time; NULL for a session), the user's role names,
    then every user column."""
    columns = ", ".join(f'u."{field.column}"' for field in get_user_model()._meta.concrete_fields)
    return f"SELECT {created}, ({_role_names_sql(user_id)}) AS role_names, {columns}"


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
    kind = "token"

    def params(self) -> dict:
        """The statement's parameters for `caller_cte_sql` (the user id is `%(user)s`)."""
        return {"token": self.key, "user": self.user_id}

    def forget(self) -> None:
        _TOKEN_USERS.pop(self.key, None)

    def accept(self, request, row) -> bool:
        """Authenticates `request` as the token's user from the statement's caller `row`, as
        DRF's token check would (raising its 401 for an inactive user)."""
        authenticator = request.authenticators[0]
        try:
            user, token = _user_and_token(authenticator.get_model(), self.key, row)
        except exceptions.APIException:
            request._not_authenticated()  # as DRF leaves a request it refused
            raise
        request._authenticator = authenticator
        request.user, request.auth = user, token
        return True


class SessionCaller(NamedTuple):
    """A browser's session key and what this process last accepted for it (a hint)."""

    key: str
    user_id: int
    data: str  # the session row's data as stored
    password: str  # the user's password hash, from which the session's auth hash derives
    kind = "session"

    def params(self) -> dict:
        """The statement's parameters for `caller_cte_sql("session")`."""
        return {
            "session": self.key,
            "session_data": self.data,
            "password": self.password,
            "user": self.user_id,
        }

    def forget(self) -> None:
        _SESSION_USERS.pop(self.key, None)

    def accept(self, request, row) -> bool:
        """Authenticates `request` as the session's user from the statement's caller `row`;
        False for an inactive user (the statement did nothing; the usual way refuses it)."""
        user = active_user(row)
        if user is None:
            return False
        request._authenticator = request.authenticators[1]
        request.user, request.auth = user, None
        # As the usual session check leaves it: the response varies on the cookie.
        request._request.session.accessed = True
        return True


Caller = TokenCaller | SessionCaller


@functools.cache
def caller_width() -> int:
    """Number of leading columns a statement's result row gives to the caller."""
    return 2 + len(get_user_model()._meta.concrete_fields)


@functools.cache
def caller_cte_sql(kind: str) -> str:
    """`caller AS (...)`, the same columns as the usual token lookup. For a token: its row
    joined to its user, if the key (`%(token)s`) still belongs to user `%(user)s`. For a
    session: user `%(user)s`, if session `%(session)s` is unexpired and still holds
    `%(session_data)s` and the user's password hash is still `%(password)s`."""
    meta = get_user_model()._meta
    users, pk = meta.db_table, meta.pk.column
    if kind == "token":
        return (
            f'caller AS ({_caller_columns()} FROM "authtoken_token" t '
            f'JOIN "{users}" u ON u."{pk}" = t."user_id" '
            f'WHERE t."key" = %(token)s AND t."user_id" = %(user)s)'
        )
    if kind != "session":
        raise ValueError(f"unknown caller kind {kind!r}")
    sessions = SessionStore.get_model_class()._meta.db_table
    password = meta.get_field("password").column
    return (
        f"caller AS ({_caller_columns('NULL::timestamptz', f'u.{pk}')} "
        f'FROM "{sessions}" s JOIN "{users}" u ON u."{pk}" = %(user)s '
        f"WHERE s.session_key = %(session)s AND s.session_data = %(session_data)s "
        f'AND s.expire_date > now() AND u."{password}" = %(password)s)'
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


def statement_caller(request) -> Caller | None:
    """The request's caller as a statement can check it, when the endpoint may: PostgreSQL,
    this project's two authenticators in their order, and a hint for the caller's token (a
    well-formed `Authorization: Token <key>` header) or, without a token, for their session
    (whose CSRF check passes). None otherwise: the usual authentication then runs, with its
    errors for malformed headers, missing CSRF tokens and the like."""
    return request_caller(request._request, request.authenticators)


def request_caller(request, authenticators) -> Caller | None:
    """`statement_caller` for a Django request and the authenticators its view would use."""
    if (
        connection.vendor != "postgresql"
        or len(authenticators) != 2
        or type(authenticators[0]) is not TokenWithRolesAuthentication
        or type(authenticators[1]) is not SessionWithHintAuthentication
    ):
        return None
    auth = get_authorization_header(request).split()
    if auth and auth[0].lower() == b"token":  # the token authenticator decides alone
        if len(auth) != 2:
            return None
        try:
            key = auth[1].decode()
        except UnicodeError:
            return None
        user_id = _TOKEN_USERS.get(key)
        return None if user_id is None else TokenCaller(key, user_id)
    return _session_caller(request, authenticators[1])


def _session_caller(request, authenticator) -> SessionCaller | None:
    if settings.SESSION_SAVE_EVERY_REQUEST or hasattr(request, "_cached_user"):
        return None  # the session is to be saved anyway, or was loaded already
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    hint = _SESSION_USERS.get(key) if key else None
    if hint is None or not isinstance(getattr(request, "session", None), SessionStore):
        return None
    try:
        # On the Django request: for a JSON body, CSRF's form-field fallback finds nothing
        # there, as it finds nothing in DRF's request.POST.
        authenticator.enforce_csrf(request)
    except exceptions.PermissionDenied:
        return None  # the usual way refuses it, with DRF's message
    return SessionCaller(key, *hint)


class CallerInStatementMixin:
    """For an APIView whose work is one statement that checks its caller itself.

    With a `statement_caller`, DRF's authentication and permission checks are postponed: the
    handler calls its service through `call_service`, whose in-statement form passes the
    caller to its statement (which writes nothing unless `caller_may_sql` holds) and then calls
    `authenticated_user` with the caller's row from that statement — from then on
    `request.user` and the permission checks are exactly those of the usual path. Any error
    raised before that (unparsable body, invalid input, a database error) first authenticates
    the usual way, so a request with a bad token still gets 401 rather than a validation error.
    """

    caller: Caller | None = None

    def perform_authentication(self, request):
        self.caller = statement_caller(request)
        if self.caller is None:
            super().perform_authentication(request)

    def check_permissions(self, request):
        if self.caller is None:
            super().check_permissions(request)

    def call_service(self, request, usual, in_statement, **kwargs):
        """`in_statement(caller=…, authenticate=…, **kwargs)` when the caller is to be checked
        in the service's statement, else `usual(annotator=request.user, **kwargs)`."""
        caller = self.pending_caller(request)
        if caller is None:
            return usual(annotator=request.user, **kwargs)
        authenticate = functools.partial(self.authenticated_user, request)
        return in_statement(caller=caller, authenticate=authenticate, **kwargs)

    def pending_caller(self, request) -> Caller | None:
        """The caller to check in the statement, or None when `request.user` is known."""
        if self.caller is not None and hasattr(request, "_user"):
            # Something read request.user meanwhile: DRF authenticated it the usual way.
            self.caller = None
            super().check_permissions(request)
        return self.caller

    def authenticated_user(self, request, row):
        """After the statement: `row` is its caller part (None when it found no such caller).
        Authenticates the request (raising 401/403 as the usual path would) and returns
        `request.user`."""
        caller, self.caller = self.caller, None
        if row is None or not caller.accept(request, row):
            caller.forget()
            super().perform_authentication(request)  # the usual lookup, with its errors
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
