"""The query planner's statistics after a bulk load.

Tens of thousands of rows arriving in one transaction leave PostgreSQL's statistics saying
the tables are nearly empty until autovacuum samples them (up to a minute later, or never
on a server without it). Until then it plans joins as if every filter kept a row or two:
nested loops over whole batches. A bulk load therefore ends with ANALYZE, as after `COPY`.
"""

from __future__ import annotations

from django.db import connection, models


def statistics_refresh(*tables: type[models.Model]) -> None:
    """ANALYZE the models' tables on PostgreSQL, outside any transaction (ANALYZE inside one
    would hold its locks to the end); elsewhere, or inside a transaction, nothing."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")
