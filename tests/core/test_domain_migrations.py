"""Rolling the domain migrations back (an operator undoing a deploy) leaves the hot counters
checked as before: the `>= 0` table CHECKs Django had made come back once the columns lose
their domains, and migrating forward again drops them (the domain holds the rule). Runs
`manage.py migrate` on a scratch PostgreSQL database of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SCRATCH = "annot_domain_rollback"
# (app label, migration before the domains, table, columns that became domain columns there)
ROLLED_BACK = (
    (
        "annotations",
        "0004",
        "annotations_annotation",
        ("stage1_ms", "stage2_ms", "server_duration_ms"),
    ),
    ("assignments", "0004", "assignments_assignment", ("slot",)),
    ("batches", "0004", "batches_pair", ("taken", "submitted")),
)
# `submitted` left the pair later (batches 0006): only the others exist at the latest state.
LATEST = [(t, c) for _, _, t, columns in ROLLED_BACK for c in columns if c != "submitted"]


def _admin_connection():
    conf = connection.settings_dict
    return psycopg.connect(
        dbname="postgres",
        user=conf["USER"],
        host=conf["HOST"] or "127.0.0.1",
        port=conf["PORT"] or 5432,
        autocommit=True,
    )


@pytest.fixture
def scratch_database():
    if connection.vendor != "postgresql":
        pytest.fail("this test needs DATABASE_URL to point at PostgreSQL")
    conf = connection.settings_dict
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{SCRATCH}"')
    url = (
        f"postgres://{conf['USER']}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{SCRATCH}"
    )
    try:
        yield url
    finally:
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')


def _migrate(url: str, *target: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", *target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _column_state(url: str, table: str, column: str) -> tuple[str, list[str]]:
    """(the column's declared type, the table CHECKs that mention it)."""
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        declared = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attname = %s",
            [table, column],
        ).fetchone()[0]
        checks = [
            row[0]
            for row in conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype = 'c'",
                [table],
            )
            if f"{column} " in row[0] or f"({column})" in row[0]
        ]
    return declared, checks


def test_rolling_back_the_domain_columns_restores_their_checks(scratch_database):
    url = scratch_database
    _migrate(url)
    for table, column in LATEST:
        declared, checks = _column_state(url, table, column)
        assert declared.startswith("annot_"), (table, column, declared)
        assert checks == [], (table, column, checks)  # the domain holds the rule

    for app, before, _, _ in ROLLED_BACK:
        _migrate(url, app, before)
    for _, _, table, columns in ROLLED_BACK:
        for column in columns:
            declared, checks = _column_state(url, table, column)
            assert not declared.startswith("annot_"), (table, column, declared)
            # (slot's named model constraint of that state is back too, by Django's own means)
            assert f"CHECK (({column} >= 0))" in checks, (table, column, checks)

    _migrate(url)  # and forward again: domains back, the table CHECKs gone
    for table, column in LATEST:
        declared, checks = _column_state(url, table, column)
        assert declared.startswith("annot_") and checks == [], (table, column, checks)
