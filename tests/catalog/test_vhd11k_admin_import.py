"""The admin import page takes a VHD11K release as published: its annotation file and its zip,
imported by the background job straight from the zip, the release's labels kept apart."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches import import_jobs
from annotation_server.batches.models import Batch, BatchImport
from annotation_server.catalog.importers.vhd11k_standin import write_standin
from annotation_server.core.jobs import job_execute

from .importing import media

__all__ = ["media"]

URL = "admin:batches_batch_import"


@pytest.fixture
def admin_client_(client, make_user, settings, tmp_path):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    client.force_login(make_user(roles.ADMIN))
    return client


def _form(folder, *, with_zip=True) -> dict:
    data = {
        "name": "vhd-upload",
        "overlap": 3,
        "priority": 0,
        "instructions": "",
        "manifest": SimpleUploadedFile(
            "harmful_image_6_ann.csv", (folder / "harmful_image_6_ann.csv").read_bytes()
        ),
    }
    if with_zip:
        # A browser sends whatever name the file has on the admin's disk.
        data["videos"] = SimpleUploadedFile(
            "download (1).zip", (folder / "harmful_images_6.zip").read_bytes()
        )
    return data


@pytest.mark.django_db
def test_an_uploaded_release_becomes_a_classification_batch_with_its_labels(
    admin_client_, media, tmp_path, settings, django_capture_on_commit_callbacks
):
    folder = tmp_path / "release"
    write_standin(folder, images=6, videos=0, seed=3)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client_.post(reverse(URL), _form(folder))
    assert response.status_code == 302, response.content.decode()[:2000]
    job = job_execute(import_jobs.KIND, BatchImport.objects.get().pk)
    assert job.status == "succeeded", job.problems
    batch = Batch.objects.get(name="vhd-upload")
    assert (batch.kind, batch.taxonomy.name, batch.pairs.count()) == ("classification", "vhd11k", 6)
    assert ExternalAnnotation.objects.filter(batch=batch, source="vhd11k").count() == 6
    assert not batch.pairs.filter(annotations__isnull=False).exists()  # no worker answers made
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []


@pytest.mark.django_db
def test_an_annotation_file_without_its_zip_is_refused_at_once(admin_client_, media, tmp_path):
    folder = tmp_path / "release"
    write_standin(folder, images=6, videos=0)
    page = admin_client_.post(reverse(URL), _form(folder, with_zip=False)).content.decode()
    assert "needs its zip (harmful_images_6.zip)" in page
    assert not BatchImport.objects.exists()
