"""An export started while the task broker is down fails at once with a message saying why,
instead of waiting as pending for ever behind a server error."""

from __future__ import annotations

import pytest

from annotation_server.accounts import roles
from annotation_server.exports.models import Export
from annotation_server.exports.services import export_start
from tests.celery_worker import broker_unreachable

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs as in a real request


def test_export_started_while_the_broker_is_down_fails_with_a_reason(make_user, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    admin = make_user(roles.ADMIN)

    with broker_unreachable():
        export = export_start(owner=admin, kind="eval")

    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert "broker (CELERY_BROKER_URL) was unreachable" in export.error
    assert "Start the export again" in export.error
    assert export.finished_at is not None
