"""The hot statements stay within psycopg's cache of converted queries.

psycopg rewrites `%(name)s` placeholders into `$n` with a regular-expression pass on every
execution of a statement longer than its cache limit (for the claim: ~100 µs of CPU per
request, a fifth of what the statement costs PostgreSQL). Nothing else would notice a
statement that grew past the limit.
"""

from __future__ import annotations

from psycopg import _queries

from annotation_server.accounts import authentication
from annotation_server.annotations import services as annotation_services
from annotation_server.assignments import claim_sql, selectors
from annotation_server.assignments import services as assignment_services
from annotation_server.core import sql


def _hot_statements() -> dict[str, str]:
    statements = {
        "token": authentication._token_sql(),
        "claim in batch": claim_sql._claim_sql(),
        "open assignments": selectors._open_sql(),
        "lock own": assignment_services._lock_own_sql(),
        "give up": assignment_services._give_up_sql(),
        "give up open, by token": assignment_services._give_up_open_sql("token"),
        "give up open, by session": assignment_services._give_up_open_sql("session"),
        "submit lock": annotation_services._submit_lock_sql(),
        "store and close": annotation_services._store_and_close_sql(),
    }
    for caller in (None, "token", "session"):
        statements[f"submit, caller {caller}"] = annotation_services._submit_open_regular_sql(
            caller_kind=caller
        )
        for by_name in (False, True):
            for async_commit in (False, True):
                statements[f"claim, caller {caller}, by name {by_name}, {async_commit}"] = (
                    claim_sql._fast_claim_sql(
                        by_name=by_name, async_commit=async_commit, caller_kind=caller
                    )
                )
    return statements


def test_our_limit_is_psycopgs():
    assert sql.PSYCOPG_CACHED_LENGTH == _queries.MAX_CACHED_STATEMENT_LENGTH


def test_every_hot_statement_is_short_enough_to_be_cached():
    too_long = {
        name: len(statement.encode())
        for name, statement in _hot_statements().items()
        if len(statement.encode()) > sql.PSYCOPG_CACHED_LENGTH
    }
    assert too_long == {}


def test_compact_keeps_words_and_literals_apart():
    assert sql.compact("\n  SELECT a,\n\t b  FROM t\n  WHERE s = 'open'\n") == (
        "SELECT a, b FROM t WHERE s = 'open'"
    )
