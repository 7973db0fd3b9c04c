"""The admin upload's "answers count" choice: off by default (the release's answers are kept
only to compare with), on it credits each pair with the source's answers exactly as
`import_batch --answers-count` does, and says so on the job's page."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches import import_jobs
from annotation_server.batches.models import Batch, BatchImport
from annotation_server.core.jobs import job_execute
from annotation_server.core.models import AuditEvent

from .importing import SAMPLES, media

__all__ = ["media"]

pytestmark = pytest.mark.django_db

URL = "admin:batches_batch_import"
RELEASE = SAMPLES / "safesora"


def _videos_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((RELEASE / "videos").rglob("*.mp4")):
            archive.write(path, path.relative_to(RELEASE).as_posix())
    return buffer.getvalue()


@pytest.fixture
def admin(client, make_user, settings, tmp_path):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    client.force_login(make_user(roles.ADMIN))
    return client


def _upload(client, capture, *, name: str, overlap: int, manifest=None, **extra):
    """Post the form, run the queued job here; the job's page afterwards."""
    manifest = manifest or SimpleUploadedFile(
        "config-train.json.gz", (RELEASE / "config-train.json.gz").read_bytes()
    )
    with capture():
        response = client.post(
            reverse(URL),
            {"name": name, "overlap": overlap, "priority": 0, "instructions": "",
             "manifest": manifest,
             "videos": SimpleUploadedFile("videos.zip", _videos_zip()), **extra},
        )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    job = BatchImport.objects.get(name=name)
    job_execute(import_jobs.KIND, job.pk)
    return client.get(response["Location"]).content.decode()


def test_the_form_offers_the_choice_off_with_what_counting_means(admin):
    html = admin.get(reverse(URL)).content.decode()
    assert (
        'name="answers_count"' in html
        and "checked" not in html.split('name="answers_count"')[1][:80]
    )
    assert "credited toward each pair&#x27;s overlap" in html


def test_left_off_the_answers_are_kept_but_count_for_nothing(
    admin, media, django_capture_on_commit_callbacks
):
    page = _upload(admin, django_capture_on_commit_callbacks, name="kept", overlap=1)
    batch = Batch.objects.get(name="kept")
    assert "imported with 6 pairs" in page and "count:" not in page
    assert ExternalAnnotation.objects.filter(batch=batch, source="safesora-release").count() == 6
    assert batch.counted_sources == [] and not batch.pairs.filter(credited__gt=0).exists()


def test_ticked_the_release_answers_are_credited_as_the_command_line_does(
    admin, media, django_capture_on_commit_callbacks
):
    page = _upload(
        admin, django_capture_on_commit_callbacks, name="counted", overlap=2, answers_count="on"
    )
    batch = Batch.objects.get(name="counted")
    assert (
        "Answers of &#x27;safesora-release&#x27; count: 6 pair(s) credited with 6 judgement(s)."
        in page
    )
    assert batch.counted_sources == ["safesora-release"]
    # One release answer per pair against an overlap of 2: each pair still needs one of ours.
    assert sorted(batch.pairs.values_list("credited", flat=True)) == [1] * 6
    assert AuditEvent.objects.filter(verb="batch.count_source", batch=batch).count() == 1
    assert BatchImport.objects.get(name="counted").answers_count is True


def test_ticked_for_an_upload_without_answers_it_says_none_count(
    admin, media, django_capture_on_commit_callbacks, tmp_path
):
    records = json.loads(gzip.decompress((RELEASE / "config-train.json.gz").read_bytes()))
    for record in records:
        for key in ("helpfulness", "harmlessness", "sub_preferences"):
            record.pop(key)
    bare = SimpleUploadedFile("config-train.json.gz", gzip.compress(json.dumps(records).encode()))
    page = _upload(
        admin, django_capture_on_commit_callbacks, name="bare", overlap=2, manifest=bare,
        answers_count="on",
    )  # fmt: skip
    batch = Batch.objects.get(name="bare")
    assert "The upload carried no answers; none count." in page
    assert batch.counted_sources == [] and not batch.pairs.filter(credited__gt=0).exists()
