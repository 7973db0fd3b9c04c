"""The session engine (settings.SESSION_ENGINE): Django's database sessions, each store also
remembering its row's `session_data` exactly as stored when it loaded it.

The hot worker statements check a browser's session themselves (accounts.authentication,
`SessionCaller`): they proceed only when the session row still holds, byte for byte, the data
this process last verified the usual way. Nothing else differs from Django's engine.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db


class SessionStore(db.SessionStore):
    stored_data: str | None = None

    def _get_session_from_db(self):
        row = super()._get_session_from_db()
        self.stored_data = None if row is None else row.session_data
        return row
