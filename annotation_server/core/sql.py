"""Plain-SQL helpers for the hot paths (claim, submit, skip), without the ORM's compilation.

`insert_sql(Model)` is the `INSERT INTO table (columns) VALUES (%s, …)` that `save()` would
run for a new row (every concrete field but an auto primary key), built once per model;
`insert_values(instance)` prepares the instance's values field by field with the same calls
the ORM makes (`pre_save`, so `auto_now_add` is filled in, then `get_db_prep_save`, so JSON
and dates are adapted for the connection). Used inside larger statements (a data-modifying
CTE) so that one round trip stores a row and updates the rows it affects.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.db import connection, models


@functools.cache
def insert_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField)) and not field.generated
    )


@functools.cache
def attnames(model: type[models.Model]) -> tuple[str, ...]:
    """Attribute names of every concrete field, in column order: for `Model.from_db` on rows
    of a plain `SELECT` of all columns."""
    return tuple(field.attname for field in model._meta.concrete_fields)


@functools.cache
def insert_sql(model: type[models.Model]) -> str:
    quote = connection.ops.quote_name
    fields = insert_fields(model)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"


def insert_values(instance: models.Model) -> list[Any]:
    return [
        field.get_db_prep_save(field.pre_save(instance, True), connection)
        for field in insert_fields(type(instance))
    ]


def mark_saved(instance: models.Model, pk: Any) -> None:
    """After the row was inserted by hand: the instance is now a saved one, as after save()."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


# psycopg converts a statement's %(name)s placeholders to $n with a regular-expression pass
# (~100 µs for the claim) and caches the result only for statements of at most 4096 bytes
# (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH): the hot statements must stay below it.
PSYCOPG_CACHED_LENGTH = 4096


def compact(statement: str) -> str:
    """`statement` with each run of blanks and newlines as one space (hot statements are
    written indented for reading; none has blanks inside a quoted literal)."""
    return re.sub(r"\s+", " ", statement).strip()
