"""Exports from the admin: a Celery job with progress, and an admin-only download."""

from __future__ import annotations

import io
import tarfile

import pytest
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.exports.models import Export
from tests.celery_worker import wait_until

from .annotating import put_renditions
from .spec_reader import read_dataset
from .world import build_world


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_admin_starts_an_export_and_downloads_the_result(
    make_user, media_root, clip, celery_worker_factory, client, settings, tmp_path
):
    world = build_world(make_user)
    put_renditions(media_root, clip, world.videos)
    celery_worker_factory(EXPORT_ROOT=settings.EXPORT_ROOT)
    client.force_login(make_user(roles.ADMIN))

    response = client.post(
        reverse("admin:exports_export_add"),
        {
            "kind": "preference",
            "batches": [world.batch.pk],
            "test_fraction": "0.5",
            "seed": "3",
            "videos": "copy",
            "tar_videos": "on",
            "min_annotations": "1",
            "raw": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    export = Export.objects.get()
    assert export.batch_names == ["main"]

    wait_until(
        lambda: Export.objects.get().status in ("succeeded", "failed"), what="the export job"
    )
    export.refresh_from_db()
    assert export.status == "succeeded", export.error
    preference = export.summary["kinds"]["preference"]
    assert preference["records"]["train"] + preference["records"]["test"] == len(world.pairs)
    assert preference["skipped"] == {}
    assert export.summary["raw_annotations"] == len(world.pairs) * 3
    assert export.owner is not None and export.percent == 100

    page = client.get(reverse("admin:exports_export_change", args=[export.pk])).content.decode()
    assert "100%" in page and "Download .tar.gz" in page
    assert 'http-equiv="refresh"' not in page  # finished: the page stops reloading

    download = client.get(reverse("admin:exports_export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    body = b"".join(download.streaming_content)
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "unpacked", filter="data")
    root = f"export-{export.pk}"
    assert {
        f"{root}/config-train.json.gz",
        f"{root}/config-test.json.gz",
        f"{root}/annotations.jsonl",
        f"{root}/videos.tar.gz",
    } <= names
    records = read_dataset(tmp_path / "unpacked" / root, "preference", videos=True)
    assert len(records["train"]) + len(records["test"]) == len(world.pairs)


@pytest.mark.django_db
def test_only_admins_reach_exports(make_user, client, media_root):
    export = Export.objects.create(kind="eval", status="succeeded", result_file="export-1.tar.gz")
    media_root.parent.joinpath("exports").mkdir()
    media_root.parent.joinpath("exports", "export-1.tar.gz").write_bytes(b"not for you")
    download = reverse("admin:exports_export_download", args=[export.pk])

    client.force_login(make_user(roles.REVIEWER))
    assert client.get(download).status_code == 403
    assert client.get(reverse("admin:exports_export_add")).status_code == 403
    client.force_login(make_user(roles.ANNOTATOR))
    assert client.get(download).status_code == 302  # not staff: sent to the admin log-in
    client.logout()
    assert client.get(download).status_code == 302

    client.force_login(make_user(roles.ADMIN))
    assert b"".join(client.get(download).streaming_content) == b"not for you"


@pytest.mark.django_db
def test_a_result_path_outside_the_export_folder_is_never_served(make_user, client, media_root):
    secret = media_root.parent / "secret.txt"
    secret.write_text("private")
    export = Export.objects.create(kind="eval", status="succeeded", result_file="../secret.txt")
    client.force_login(make_user(roles.ADMIN))
    response = client.get(reverse("admin:exports_export_download", args=[export.pk]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_bad_options_are_refused_in_the_form_and_running_jobs_refresh(make_user, client):
    client.force_login(make_user(roles.ADMIN))
    response = client.post(
        reverse("admin:exports_export_add"),
        {
            "kind": "label",
            "test_fraction": "0.1",
            "seed": "0",
            "videos": "none",
            "tar_videos": "on",
            "min_annotations": "1",
        },
    )
    assert response.status_code == 200
    assert "--tar packs the video files" in response.content.decode()
    assert not Export.objects.exists()

    running = Export.objects.create(
        kind="label",
        status="running",
        progress_done=250,
        progress_total=1000,
        progress_stage="writing label",
    )
    page = client.get(reverse("admin:exports_export_change", args=[running.pk])).content.decode()
    assert "25% – 250/1000 (writing label)" in page
    assert 'http-equiv="refresh"' in page


@pytest.mark.django_db
def test_deleting_an_export_removes_its_archive(make_user, client, media_root):
    exports = media_root.parent / "exports"
    exports.mkdir()
    (exports / "export-9.tar.gz").write_bytes(b"answers")
    export = Export.objects.create(kind="eval", status="succeeded", result_file="export-9.tar.gz")
    client.force_login(make_user(roles.ADMIN))
    response = client.post(
        reverse("admin:exports_export_delete", args=[export.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Export.objects.exists()
    assert not (exports / "export-9.tar.gz").exists()
