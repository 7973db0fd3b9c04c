"""The admin upload: manifest + zip of videos, imported by a background job through the same
import; the job's page shows the new batch or every problem found."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.batches import import_jobs
from annotation_server.batches.models import Batch, BatchImport
from annotation_server.catalog.models import Video
from annotation_server.core.jobs import job_execute

from .importing import SAMPLES, db_counts, media, stored_files

__all__ = ["media"]

URL = "admin:batches_batch_import"


def _zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def _manifest(paths=("p1/a.mp4", "p1/b.mp4")) -> bytes:
    videos = [{"path": p, "generated_from": f"M{i}"} for i, p in enumerate(paths)]
    return (
        json.dumps(
            {
                "prompt_id": "p1",
                "prompt_text": "A cat",
                "prompt_type": "safety_neutral",
                "videos": videos,
            }
        ).encode()
        + b"\n"
    )


def _post(client, manifest: bytes, archive: bytes, name="uploaded"):
    return client.post(
        reverse(URL),
        {
            "name": name,
            "overlap": 2,
            "priority": 1,
            "instructions": "",
            "manifest": SimpleUploadedFile("manifest.jsonl", manifest),
            "videos": SimpleUploadedFile("videos.zip", archive),
        },
    )


def _post_and_run(client, capture, manifest: bytes, archive: bytes, name="uploaded"):
    """Upload, then run the queued job here (its task body): (upload response, job page)."""
    with capture() as callbacks:
        response = _post(client, manifest, archive, name)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = BatchImport.objects.get(name=name)
    assert response["Location"] == reverse("admin:batches_batchimport_change", args=[job.pk])
    assert len(callbacks) == 1  # the job is queued once the upload is committed
    job_execute(import_jobs.KIND, job.pk)
    return response, client.get(response["Location"])


@pytest.fixture
def admin_client_(client, make_user, settings, tmp_path):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    client.force_login(make_user(roles.ADMIN))
    return client


def test_admin_uploads_manifest_and_zip_into_a_batch(
    db, admin_client_, media, settings, admin_client, django_capture_on_commit_callbacks
):
    archive = _zip({"p1/a.mp4": b"clip a", "p1/b.mp4": b"clip b"})
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(admin_client_, _manifest(), archive)
    job = BatchImport.objects.get()
    assert response.status_code == 302
    assert job.status == "pending" and not Batch.objects.exists()  # nothing done in the request
    waiting = admin_client_.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in waiting and 'http-equiv="refresh"' in waiting
    assert len(callbacks) == 1

    job = job_execute(import_jobs.KIND, job.pk)
    batch = Batch.objects.get(name="uploaded")
    assert (job.status, job.batch, job.summary["pairs"]) == ("succeeded", batch, 1)
    assert (batch.overlap, batch.priority, batch.pairs.count()) == (2, 1, 1)
    assert sorted(p.read_bytes() for p in stored_files(media)) == [b"clip a", b"clip b"]
    assert Video.objects.count() == 2
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []  # the staged upload is gone
    page = admin_client_.get(response["Location"]).content.decode()
    assert reverse("admin:batches_batch_change", args=[batch.pk]) in page
    assert "imported with 1 pair;" in page and 'http-equiv="refresh"' not in page
    # Running the job again (a redelivered task) changes nothing.
    assert job_execute(import_jobs.KIND, job.pk).status == "succeeded"
    assert Batch.objects.count() == 1
    listing = admin_client.get(reverse("admin:batches_batch_changelist"))
    assert reverse(URL).encode() in listing.content
    jobs = admin_client.get(reverse("admin:batches_batchimport_changelist")).content.decode()
    assert reverse(URL) in jobs and "uploaded" in jobs and "Succeeded" in jobs
    # The batch deleted later: its import's page still tells what happened.
    batch.delete()
    page = admin_client_.get(response["Location"]).content.decode()
    assert "uploaded (since deleted) imported with 1 pair." in page and "Waiting" not in page


def test_manifest_problems_are_listed_and_nothing_is_written(
    db, admin_client_, media, settings, django_capture_on_commit_callbacks
):
    archive = _zip({"p1/a.mp4": b"clip a"})
    manifest = _manifest(("p1/a.mp4", "p1/missing.mp4"))
    _, page = _post_and_run(admin_client_, django_capture_on_commit_callbacks, manifest, archive)

    assert page.status_code == 200
    assert b"manifest.jsonl:1: videos[1].path: file not found: p1/missing.mp4" in page.content
    assert b"nothing was imported" in page.content
    assert BatchImport.objects.get().status == "failed"
    assert db_counts() == (0, 0, 0, 0) and stored_files(media) == []
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []


@pytest.mark.parametrize(
    "members, symlinks, message",
    [
        ({"../evil.mp4": b"x"}, None, b"names with &#x27;..&#x27; would leave the upload folder"),
        ({"/abs/evil.mp4": b"x"}, None, b"absolute names are not allowed"),
        ({"p1/a.mp4": b"x"}, {"p1/b.mp4": "/etc/passwd"}, b"symlinks are not allowed"),
    ],
)
def test_zip_traversal_and_symlinks_are_refused(
    db,
    admin_client_,
    media,
    tmp_path,
    members,
    symlinks,
    message,
    django_capture_on_commit_callbacks,
):
    archive = _zip(members, symlinks)
    _, page = _post_and_run(admin_client_, django_capture_on_commit_callbacks, _manifest(), archive)
    assert message in page.content
    assert db_counts() == (0, 0, 0, 0)
    assert not (tmp_path / "evil.mp4").exists() and not (tmp_path / "staging" / "evil.mp4").exists()


def test_zip_bomb_is_refused(
    db, admin_client_, media, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_UNZIPPED_BYTES = 64 * 1024
    archive = _zip({"p1/a.mp4": b"\0" * (1024 * 1024), "p1/b.mp4": b"b"})
    assert len(archive) < 16 * 1024  # small upload, large content
    _, page = _post_and_run(admin_client_, django_capture_on_commit_callbacks, _manifest(), archive)
    assert b"IMPORT_MAX_UNZIPPED_BYTES" in page.content
    assert db_counts() == (0, 0, 0, 0)
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []


def test_a_taken_name_is_refused_at_once(db, admin_client_, media, settings):
    Batch.objects.create(name="uploaded")
    response = _post(admin_client_, _manifest(), _zip({"p1/a.mp4": b"a", "p1/b.mp4": b"b"}))
    assert response.status_code == 200
    assert b"A batch named &#x27;uploaded&#x27; already exists" in response.content
    assert not BatchImport.objects.exists()
    assert not settings.IMPORT_STAGING_ROOT.exists()  # nothing staged either


def test_only_admins_may_import(db, client, make_user, media):
    client.force_login(make_user(roles.REVIEWER))
    assert client.get(reverse(URL)).status_code == 403
    response = _post(client, _manifest(), _zip({"p1/a.mp4": b"a", "p1/b.mp4": b"b"}))
    assert response.status_code == 403
    client.force_login(make_user(roles.ANNOTATOR))
    assert client.get(reverse(URL)).status_code == 302  # not staff: sent to the admin log-in
    assert db_counts() == (0, 0, 0, 0) and not BatchImport.objects.exists()
    client.force_login(make_user(roles.REVIEWER))
    assert client.get(reverse("admin:batches_batchimport_changelist")).status_code == 403


def safesora_upload(name: str) -> dict:
    """The admin form's data for the SafeSora sample config and a zip of its videos."""
    root = SAMPLES / "safesora"
    members = {str(p.relative_to(root)): p.read_bytes() for p in (root / "videos").rglob("*.mp4")}
    return {
        "name": name,
        "overlap": 3,
        "priority": 0,
        "manifest": SimpleUploadedFile(
            "config-test.json.gz", (root / "config-test.json.gz").read_bytes()
        ),
        "videos": SimpleUploadedFile("videos.zip", _zip(members)),
    }


def test_admin_uploads_a_safesora_config_and_its_videos(
    db, admin_client_, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client_.post(reverse(URL), safesora_upload("safesora-upload"))
    assert response.status_code == 302 and len(callbacks) == 1
    job = job_execute(import_jobs.KIND, BatchImport.objects.get().pk)
    assert job.status == "succeeded", job.problems
    batch = Batch.objects.get(name="safesora-upload")
    assert sorted(batch.pairs.values_list("pair_id", flat=True)) == [
        "c07b5e6100a00006-c07b5e6101b00007",
        "c07b5e6100a00006-c07b5e6102a00008",
        "c07b5e6101b00007-c07b5e6102a00008",
    ]
    assert Video.objects.count() == 3
