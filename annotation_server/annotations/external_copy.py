"""Writing a release's external annotations with PostgreSQL `COPY`.

The same rows `services.external_labels_write` makes with `bulk_create`, written faster: a
release carries one annotation per record, each with the whole record as `details`, and
Django's bulk insert on PostgreSQL passes every column as one array parameter, which
psycopg builds in Python by escaping every `"` of every JSON value (most of a release
import's time: docs/benchmarks.md, "Import with answers"). `COPY` sends each row's JSON
text as it is. tests/annotations/test_external_copy.py imports the same release both ways
and compares the rows. A value an importer kept as its JSON text (`JsonText`) goes as it is.
"""

from __future__ import annotations

import json

from django.db import connection
from django.utils import timezone

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.catalog.importers.records import JsonText

_FIELDS = (
    "pair", "batch", "source", "source_annotator", "taxonomy", "answer", "details", "created_at"
)  # fmt: skip


def external_labels_copy(batch, taxonomy, source: str, labels) -> int:
    """Store `labels` ((pair pk, answer, details) each) as external annotations of `source`
    with one `COPY` on the current connection (inside the caller's transaction); the rows
    written. Constraint violations raise Django's IntegrityError, as `bulk_create` does."""
    meta = ExternalAnnotation._meta
    columns = ", ".join(meta.get_field(name).column for name in _FIELDS)
    answer_field, details_field = meta.get_field("answer"), meta.get_field("details")
    taxonomy_pk = taxonomy.pk if taxonomy is not None else None
    now = timezone.now()
    count = 0
    with connection.cursor() as cursor, connection.wrap_database_errors:
        sql = f"COPY {meta.db_table} ({columns}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for pair_pk, answer, details in labels:
                copy.write_row((
                    pair_pk, batch.pk, source,
                    str(details.get("source_annotator", ""))[:128], taxonomy_pk,
                    _json(answer, answer_field.encoder), _json(details, details_field.encoder),
                    now,
                ))  # fmt: skip
                count += 1
    return count


def _json(value, encoder) -> str:
    return value if isinstance(value, JsonText) else json.dumps(value, cls=encoder)
