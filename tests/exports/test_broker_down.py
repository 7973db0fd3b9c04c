"""An export started while the task broker is down fails at once with a message saying why,
instead of waiting as pending for ever behind a server error; an export is run by one worker
at a time, one whose worker died is queued again, and one whose message was lost is sent
again."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import redis

from annotation_server.accounts import roles
from annotation_server.core.jobs import (
    PENDING_RESEND_AFTER,
    RESENT_STAGE,
    job_execute,
    job_recover_stalled,
)
from annotation_server.exports.jobs import KIND, export_start
from annotation_server.exports.models import Export
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
        second = job_execute(KIND, export.pk)
        assert second.status == Export.Status.PENDING and second.started_at is None
        assert not settings.EXPORT_ROOT.exists() or not any(settings.EXPORT_ROOT.iterdir())
    ran = job_execute(KIND, export.pk)
    assert ran.status == Export.Status.SUCCEEDED, ran.error


def test_an_export_whose_worker_died_is_queued_again(make_user, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("default")
    export = export_start(owner=make_user(roles.ADMIN), kind="eval")  # queued; no worker here
    broker.delete("default")
    Export.objects.filter(pk=export.pk).update(status="running", attempts=1)

    with job_held_elsewhere("export", export.pk):  # its worker is still at it
        assert job_recover_stalled(KIND) == {"resent": [], "requeued": [], "failed": []}
    assert broker.llen("default") == 0
    # That worker died: the sweep puts the export back in the queue, for the task to run it.
    assert job_recover_stalled(KIND) == {"resent": [], "requeued": [export.pk], "failed": []}
    message = json.loads(broker.lpop("default"))
    assert message["headers"]["task"] == "annotation_server.core.tasks.job_run_task"
    assert message["headers"]["argsrepr"] == f"('export', {export.pk})"
    export.refresh_from_db()
    assert export.status == Export.Status.PENDING
    _leave_what_a_killed_run_leaves(settings.EXPORT_ROOT, export.pk)
    ran = job_execute(KIND, export.pk)
    assert ran.status == Export.Status.SUCCEEDED and ran.attempts == 2, ran.error
    assert sorted(p.name for p in settings.EXPORT_ROOT.iterdir()) == [ran.result_file]

    Export.objects.filter(pk=export.pk).update(status="running", attempts=3)
    _leave_what_a_killed_run_leaves(settings.EXPORT_ROOT, export.pk)
    assert job_recover_stalled(KIND) == {"resent": [], "requeued": [], "failed": [export.pk]}
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert "worker stopped 3 times" in export.error and "Start the export again" in export.error
    assert sorted(p.name for p in settings.EXPORT_ROOT.iterdir()) == [ran.result_file]


def test_an_export_whose_message_was_lost_is_sent_again(make_user, settings, tmp_path):
    """A broker restarted without its data loses the queued message: the export would wait as
    pending for ever. Once it has waited PENDING_RESEND_AFTER, the sweep sends it again, at
    most once per that interval; the extra copy of a message that was merely late is
    harmless."""
    settings.EXPORT_ROOT = tmp_path / "exports"
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("default")
    export = export_start(owner=make_user(roles.ADMIN), kind="eval")
    assert broker.llen("default") == 1
    broker.delete("default")  # lost

    # Queued a moment ago: it may just be waiting for a free worker.
    assert job_recover_stalled(KIND)["resent"] == []
    assert broker.llen("default") == 0

    queued_at = export.created_at - PENDING_RESEND_AFTER - dt.timedelta(seconds=1)
    Export.objects.filter(pk=export.pk).update(queued_at=queued_at)
    assert job_recover_stalled(KIND) == {"resent": [export.pk], "requeued": [], "failed": []}
    message = json.loads(broker.lpop("default"))
    assert message["headers"]["task"] == "annotation_server.core.tasks.job_run_task"
    assert message["headers"]["argsrepr"] == f"('export', {export.pk})"
    export.refresh_from_db()
    assert export.status == Export.Status.PENDING and export.progress_stage == RESENT_STAGE
    # Not again at the next sweep: the interval starts over.
    assert job_recover_stalled(KIND)["resent"] == []
    assert broker.llen("default") == 0

    ran = job_execute(KIND, export.pk)
    assert ran.status == Export.Status.SUCCEEDED and ran.attempts == 1, ran.error
    # The original message arriving late after all changes nothing.
    again = job_execute(KIND, export.pk)
    assert (again.status, again.attempts, again.result_file) == (
        Export.Status.SUCCEEDED,
        1,
        ran.result_file,
    )
    assert job_recover_stalled(KIND)["resent"] == []


def test_a_resend_while_the_broker_is_down_leaves_the_export_waiting(make_user, settings):
    """Unlike a new export, one being sent again may still have its first message queued:
    an unreachable broker must not fail it. The next sweep tries again."""
    export = export_start(owner=make_user(roles.ADMIN), kind="eval")
    queued_at = export.created_at - PENDING_RESEND_AFTER - dt.timedelta(seconds=1)
    Export.objects.filter(pk=export.pk).update(queued_at=queued_at)

    with broker_unreachable():
        assert job_recover_stalled(KIND)["resent"] == [export.pk]
    export.refresh_from_db()
    assert (export.status, export.error) == (Export.Status.PENDING, "")


def _leave_what_a_killed_run_leaves(root, pk: int) -> None:
    """The dataset folder, a hidden partial folder with a video copy, a partial archive."""
    partial = root / f".export-{pk}.partial-0123456789ab" / "videos"
    partial.mkdir(parents=True)
    (partial / "v.mp4").write_bytes(b"video" * 1000)
    (root / f"export-{pk}").mkdir(exist_ok=True)
    (root / f"export-{pk}.tar.gz.partial").write_bytes(b"half an archive")
