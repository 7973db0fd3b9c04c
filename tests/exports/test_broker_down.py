"""An export started while the task broker is down fails at once with a message saying why,
instead of waiting as pending for ever behind a server error."""

from __future__ import annotations

import pytest

from annotation_server.accounts import roles
from annotation_server.exports.models import Export
from annotation_server.exports.services import export_execute, export_start
from tests.celery_worker import broker_unreachable, job_held_elsewhere

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


def test_an_export_another_worker_is_running_is_left_to_it(make_user, settings, tmp_path):
    """A task redelivered after the visibility timeout while the first worker still runs the
    export must not write the same export folder alongside it."""
    settings.EXPORT_ROOT = tmp_path / "exports"
    export = export_start(owner=make_user(roles.ADMIN), kind="eval")

    with job_held_elsewhere("export", export.pk):
        second = export_execute(export_id=export.pk)
        assert second.status == Export.Status.PENDING and second.started_at is None
        assert not settings.EXPORT_ROOT.exists() or not any(settings.EXPORT_ROOT.iterdir())
    ran = export_execute(export_id=export.pk)
    assert ran.status == Export.Status.SUCCEEDED, ran.error
