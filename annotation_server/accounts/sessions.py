"""The session engine (settings.SESSION_ENGINE): Django's database sessions, each store also
remembering its row's `session_data` exactly as stored when it loaded it.

The hot worker statements check a browser's session themselves (accounts.authentication,
`SessionCaller`): they proceed only when the session row still holds, byte for byte, the data
this process last verified the usual way.

Every other request of a logged-in browser loads its session row: that read is plain SQL
(prepared by psycopg after a few runs on a connection) instead of an ORM query compiled each
time, with the same condition and the same result as Django's.
"""

from __future__ import annotations

import functools

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    stored_data: str | None = None

    def _get_session_from_db(self):
        model = self.model
        connection = connections[router.db_for_read(model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())  # as the ORM passes it
        with connection.cursor() as cursor:
            cursor.execute(_load_sql(model._meta.db_table), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's engine: the key names no live session
            self.stored_data = None
            return None
        self.stored_data = row[0]
        return model(session_key=self.session_key, session_data=row[0], expire_date=row[1])


@functools.cache
def _load_sql(table: str) -> str:
    return (
        f'SELECT "session_data", "expire_date" FROM "{table}" '
        f'WHERE "session_key" = %s AND "expire_date" > %s'
    )
