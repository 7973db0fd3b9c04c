"""The admin upload's import runs on a real Celery worker; with the broker down the job fails
at once and says why (it never waits as pending for ever)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.batches import import_jobs
from annotation_server.batches.models import Batch, BatchImport
from annotation_server.core.jobs import (
    STALLED_MAX_ATTEMPTS,
    job_execute,
    job_lock_key,
    job_recover_stalled,
    runner,
)
from annotation_server.core.tasks import job_recover_task
from tests.celery_worker import broker_unreachable, job_held_elsewhere, table_locked, wait_until

from .importing import media
from .test_import_admin import _manifest, _zip, safesora_upload

__all__ = ["media"]


def _start(make_user, **overrides) -> BatchImport:
    """Stage an upload of the two-video manifest (and a zip of its videos) as the service
    does for the admin page."""
    arguments = {
        "owner": make_user(roles.ADMIN),
        "name": "job",
        "overlap": 1,
        "priority": 0,
        "instructions": "",
        "manifest": SimpleUploadedFile("manifest.jsonl", _manifest()),
        "manifest_name": "manifest.jsonl",
        "videos": SimpleUploadedFile("v.zip", _zip({"p1/a.mp4": b"a", "p1/b.mp4": b"b"})),
        "videos_name": "v.zip",
        **overrides,
    }
    return import_jobs.batch_import_start(**arguments)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_imports_the_upload_and_the_page_shows_the_batch(
    make_user, media, celery_worker_factory, client, settings, tmp_path
):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    celery_worker_factory(IMPORT_STAGING_ROOT=settings.IMPORT_STAGING_ROOT)
    client.force_login(make_user(roles.ADMIN))

    response = client.post(
        reverse("admin:batches_batch_import"), safesora_upload("from-the-worker")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = BatchImport.objects.get()
    wait_until(lambda: BatchImport.objects.get().finished, what="the import job")

    job.refresh_from_db()
    assert job.status == "succeeded", job.problems
    batch = Batch.objects.get(name="from-the-worker")
    assert job.batch == batch and batch.pairs.count() == 3 == job.summary["pairs"]
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []
    page = client.get(response["Location"]).content.decode()
    assert "from-the-worker" in page and 'http-equiv="refresh"' not in page


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_the_broker_is_down_fails_with_a_reason(make_user, settings, tmp_path):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    with broker_unreachable():
        job = _start(make_user, name="never-queued", videos=None)
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "broker (CELERY_BROKER_URL) was unreachable" in job.error
    assert "Upload the files again" in job.error
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []  # nothing left behind on disk
    assert not Batch.objects.exists()


@pytest.mark.django_db
def test_hostile_upload_names_stay_inside_the_staging_folder(make_user, settings, tmp_path):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    job = _start(
        make_user, manifest_name="../../etc/cron.d/evil.jsonl", videos_name="../../../videos.zip"
    )
    assert job.manifest_name == "evil.jsonl" and job.videos_name == "videos.zip"
    staged = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert [p.parts[0] for p in staged] == ["staging", "staging"]
    assert {p.name for p in staged} == {"evil.jsonl", "videos.zip"}


@pytest.mark.django_db
def test_a_large_upload_is_moved_into_staging_not_copied(
    make_user, settings, tmp_path, django_capture_on_commit_callbacks, media
):
    """Uploads above FILE_UPLOAD_MAX_MEMORY_SIZE arrive as temporary files; the job takes them
    over (the temporary file is gone afterwards) and imports them as usual."""
    from django.core.files.uploadedfile import TemporaryUploadedFile

    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    archive = _zip({"p1/a.mp4": b"a", "p1/b.mp4": b"b"})
    upload = TemporaryUploadedFile("videos.zip", "application/zip", len(archive), None)
    upload.write(archive)
    upload.seek(0)
    temporary = upload.temporary_file_path()
    with django_capture_on_commit_callbacks():
        job = _start(make_user, name="large", videos=upload)
    upload.close()  # what Django does at the end of the request: no error for the moved file
    assert not Path(temporary).exists()
    job = job_execute(import_jobs.KIND, job.pk)
    assert job.status == "succeeded", job.problems
    assert Batch.objects.get(name="large").pairs.count() == 1


@pytest.mark.django_db
def test_a_job_interrupted_mid_way_starts_again_from_its_staged_upload(
    make_user, settings, tmp_path, django_capture_on_commit_callbacks, media
):
    """A worker that died mid-job leaves the row running and a half-unpacked folder; the
    redelivered task imports from the staged upload as if nothing had happened."""
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    with django_capture_on_commit_callbacks():
        job = _start(make_user, name="again")
    half = import_jobs.staging_folder(job) / import_jobs.UNPACKED / "p1"
    half.mkdir(parents=True)
    (half / "a.mp4").write_bytes(b"trunc")  # cut off mid-write
    BatchImport.objects.filter(pk=job.pk).update(status="running", progress_stage="unpacking")

    job = job_execute(import_jobs.KIND, job.pk)
    assert job.status == "succeeded", job.problems
    stored = sorted(p.read_bytes() for p in media.rglob("*") if p.is_file())
    assert stored == [b"a", b"b"]
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_a_job_another_worker_is_running_is_left_to_it(make_user, settings, tmp_path, media):
    """The broker hands a task that has run longer than its visibility timeout to a second
    worker; that worker must not run the same import alongside the first."""
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    job = _start(make_user, name="once")  # queued too: no worker runs in this test
    with job_held_elsewhere("batch_import", job.pk):
        second = job_execute(import_jobs.KIND, job.pk)
        assert second.status == "pending" and not Batch.objects.exists()
        staged = import_jobs.staging_folder(job)
        assert (staged / import_jobs.UPLOADED_ZIP).is_file()  # the upload untouched
        assert (staged / import_jobs.MANIFEST_DIR / "manifest.jsonl").is_file()
    # The first worker died (its lock went with its connection): the next delivery imports.
    assert job_execute(import_jobs.KIND, job.pk).status == "succeeded"
    assert Batch.objects.get(name="once").pairs.count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_was_killed_is_queued_again_and_imported(
    make_user, media, celery_worker_factory, settings, tmp_path
):
    """A worker killed mid-import (out of memory, say) leaves its job "running". Its lock went
    with its connection, so beat's sweep sends the job back to the queue and the next worker
    imports it, instead of the job waiting an hour for the broker's redelivery."""
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    job = _start(make_user, name="survivor")  # queued; no worker yet
    with table_locked("batches_batch"):  # the import cannot finish while this is held
        first = celery_worker_factory(IMPORT_STAGING_ROOT=settings.IMPORT_STAGING_ROOT)
        wait_until(lambda: BatchImport.objects.get(pk=job.pk).status == "running", what="start")
        # While its worker runs it, the sweep leaves the job alone.
        assert job_recover_stalled(import_jobs.KIND) == {
            "resent": [],
            "requeued": [],
            "failed": [],
        }
        first.kill()
    # The killed worker's session ends once its statement gets the table.
    wait_until(lambda: not _advisory_lock_held(job.pk), what="the killed worker's session to end")
    assert BatchImport.objects.get(pk=job.pk).status == "running"  # and nobody will finish it

    celery_worker_factory(IMPORT_STAGING_ROOT=settings.IMPORT_STAGING_ROOT)
    job_recover_task.delay()  # what beat sends every five minutes
    wait_until(lambda: BatchImport.objects.get(pk=job.pk).finished, what="the import")
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2, job.problems
    assert Batch.objects.get(name="survivor").pairs.count() == 1
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_page_shows_the_rows_count_while_the_import_writes_them(
    make_user, media, celery_worker_factory, settings, tmp_path, client
):
    """The rows are written in one transaction; their count reaches the job's row (and page)
    through a connection of its own, while that transaction is still open."""
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    job = _start(make_user, name="counted")
    client.force_login(make_user(roles.ADMIN))
    with table_locked("catalog_video", mode="SHARE"):  # the import waits to insert its videos
        celery_worker_factory(IMPORT_STAGING_ROOT=settings.IMPORT_STAGING_ROOT)
        wait_until(
            lambda: BatchImport.objects.get(pk=job.pk).progress_stage == "writing rows",
            what="the job's row to say it is writing rows",
        )
        job.refresh_from_db()
        assert job.status == "running" and job.progress_total == 4  # 1 prompt, 2 videos, 1 pair
        page = client.get(reverse("admin:batches_batchimport_change", args=[job.pk])).content
        assert b"Importing: writing rows, 0 of 4 (0%)" in page
        assert not Batch.objects.filter(name="counted").exists()  # nothing committed yet
    wait_until(lambda: BatchImport.objects.get(pk=job.pk).finished, what="the import")
    job.refresh_from_db()
    assert job.status == "succeeded", job.problems
    assert (job.progress_done, job.progress_total) == (4, 4)


@pytest.mark.django_db(transaction=True)
def test_progress_never_waits_for_a_job_row_its_own_transaction_locked(make_user, caplog):
    """Progress written aside cannot see through the caller's own lock on the job's row: it
    gives up after a moment with a warning, and the job goes on."""
    from django.db import transaction

    from annotation_server.core.jobs import job_row_progress

    job = _start(make_user, name="locked")
    report = job_row_progress(BatchImport, job.pk)
    with transaction.atomic():
        BatchImport.objects.select_for_update().get(pk=job.pk)
        report("writing rows", 0, 10)
    assert "progress of BatchImport" in caplog.text and "not written" in caplog.text
    job.refresh_from_db()
    assert job.progress_stage != "writing rows"


def _advisory_lock_held(job_pk: int) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND objid = %s AND granted",
            job_lock_key("batch_import", job_pk),
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_stalled_job_waits_for_a_worker_again_and_its_page_says_why(
    make_user, settings, tmp_path, media, client
):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    job = _start(make_user, name="stalled")  # queued; no worker runs in this test
    BatchImport.objects.filter(pk=job.pk).update(status="running", attempts=1)

    assert job_recover_stalled(import_jobs.KIND) == {
        "resent": [],
        "requeued": [job.pk],
        "failed": [],
    }
    job.refresh_from_db()
    assert job.status == "pending" and job.attempts == 1
    client.force_login(make_user(roles.ADMIN))
    page = client.get(reverse("admin:batches_batchimport_change", args=[job.pk])).content
    assert b"Waiting for a worker (restarting: its worker stopped)" in page
    assert job_recover_stalled(import_jobs.KIND) == {
        "resent": [],
        "requeued": [],
        "failed": [],
    }
    # The queued task's run: the import, from the staged upload.
    job = job_execute(import_jobs.KIND, job.pk)
    assert job.status == "succeeded" and job.attempts == 2, job.problems


def test_beat_runs_the_stalled_job_sweeps():
    from django.conf import settings as django_settings

    from annotation_server.celery import app
    from annotation_server.core.jobs import job_kind

    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert job_recover_task.name in scheduled and job_recover_task.name in app.tasks
    # The one sweep covers both kinds of admin job.
    assert job_kind("batch_import").model is BatchImport
    assert job_kind("export").model.__name__ == "Export"


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_keeps_dying_fails_and_says_so(make_user, settings, tmp_path):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    job = _start(make_user, name="doomed")  # queued; no worker runs in this test
    BatchImport.objects.filter(pk=job.pk).update(status="running", attempts=STALLED_MAX_ATTEMPTS)

    assert job_recover_stalled(import_jobs.KIND) == {
        "resent": [],
        "requeued": [],
        "failed": [job.pk],
    }
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert f"worker stopped {STALLED_MAX_ATTEMPTS} times" in job.error
    assert "Upload the files again" in job.error
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []  # the upload goes with it
    assert job_recover_stalled(import_jobs.KIND) == {
        "resent": [],
        "requeued": [],
        "failed": [],
    }
    assert not Batch.objects.exists()


@pytest.mark.django_db
def test_the_job_reports_its_progress_on_its_page(
    make_user, settings, tmp_path, media, client, django_capture_on_commit_callbacks
):
    """Unpacking, hashing and copying report each file to the job's row (at most once a second
    per stage, and at each stage's end); the page shows how far the import has come."""
    from annotation_server.catalog.importers.records import reported
    from annotation_server.core.jobs import job_row_progress

    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    with django_capture_on_commit_callbacks():
        job = _start(make_user, name="watched")
    heard = []
    with mock.patch.object(
        runner, "job_row_progress", lambda model, pk: lambda *a: heard.append(a)
    ):
        assert job_execute(import_jobs.KIND, job.pk).status == "succeeded"
    assert heard[:6] == [
        ("unpacking the zip", 0, 2),
        ("unpacking the zip", 1, 2),
        ("unpacking the zip", 2, 2),
        ("hashing videos", 0, 2),
        ("hashing videos", 1, 2),
        ("hashing videos", 2, 2),
    ]
    assert heard[6:] == [
        ("copying videos", 0, 2),
        ("copying videos", 1, 2),
        ("copying videos", 2, 2),
        # 1 prompt, 2 videos, 1 pair: one INSERT each.
        ("writing rows", 0, 4),
        ("writing rows", 1, 4),
        ("writing rows", 3, 4),
        ("writing rows", 4, 4),
    ]

    # The row's side: throttled within a stage, always written at a stage's end.
    running = _start(make_user, name="running")
    report = job_row_progress(BatchImport, running.pk)
    for step in reported(range(40), "hashing videos", 40, report):
        if step == 19:
            running.refresh_from_db()
            assert running.progress_done == 0  # a second has not passed since the start
    running.refresh_from_db()
    assert (running.progress_stage, running.progress_done, running.progress_total) == (
        "hashing videos",
        40,
        40,
    )
    BatchImport.objects.filter(pk=running.pk).update(status="running", progress_done=21)
    client.force_login(make_user(roles.ADMIN))
    page = client.get(reverse("admin:batches_batchimport_change", args=[running.pk])).content
    assert b"Importing: hashing videos, 21 of 40 (52%)" in page
    assert b'http-equiv="refresh"' in page
