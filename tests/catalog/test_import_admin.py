"""The admin upload: manifest + zip of videos through the same import, problems listed."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.batches.models import Batch
from annotation_server.catalog.models import Video

from .importing import db_counts, media, stored_files

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


@pytest.fixture
def admin_client_(client, make_user, settings, tmp_path):
    settings.IMPORT_STAGING_ROOT = tmp_path / "staging"
    client.force_login(make_user(roles.ADMIN))
    return client


def test_admin_uploads_manifest_and_zip_into_a_batch(
    db, admin_client_, media, settings, admin_client
):
    archive = _zip({"p1/a.mp4": b"clip a", "p1/b.mp4": b"clip b"})
    response = _post(admin_client_, _manifest(), archive)

    batch = Batch.objects.get(name="uploaded")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:batches_batch_change", args=[batch.pk])
    assert (batch.overlap, batch.priority, batch.pairs.count()) == (2, 1, 1)
    assert sorted(p.read_bytes() for p in stored_files(media)) == [b"clip a", b"clip b"]
    assert Video.objects.count() == 2
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []  # the staged upload is gone
    listing = admin_client.get(reverse("admin:batches_batch_changelist"))
    assert reverse(URL).encode() in listing.content


def test_manifest_problems_are_listed_and_nothing_is_written(db, admin_client_, media):
    archive = _zip({"p1/a.mp4": b"clip a"})
    response = _post(admin_client_, _manifest(("p1/a.mp4", "p1/missing.mp4")), archive)

    assert response.status_code == 200
    assert b"manifest.jsonl:1: videos[1].path: file not found: p1/missing.mp4" in response.content
    assert db_counts() == (0, 0, 0, 0) and stored_files(media) == []


@pytest.mark.parametrize(
    "members, symlinks, message",
    [
        ({"../evil.mp4": b"x"}, None, b"names with &#x27;..&#x27; would leave the upload folder"),
        ({"/abs/evil.mp4": b"x"}, None, b"absolute names are not allowed"),
        ({"p1/a.mp4": b"x"}, {"p1/b.mp4": "/etc/passwd"}, b"symlinks are not allowed"),
    ],
)
def test_zip_traversal_and_symlinks_are_refused(
    db, admin_client_, media, tmp_path, members, symlinks, message
):
    response = _post(admin_client_, _manifest(), _zip(members, symlinks))
    assert response.status_code == 200
    assert message in response.content
    assert db_counts() == (0, 0, 0, 0)
    assert not (tmp_path / "evil.mp4").exists() and not (tmp_path / "staging" / "evil.mp4").exists()


def test_zip_bomb_is_refused(db, admin_client_, media, settings):
    settings.IMPORT_MAX_UNZIPPED_BYTES = 64 * 1024
    archive = _zip({"p1/a.mp4": b"\0" * (1024 * 1024), "p1/b.mp4": b"b"})
    assert len(archive) < 16 * 1024  # small upload, large content
    response = _post(admin_client_, _manifest(), archive)
    assert b"IMPORT_MAX_UNZIPPED_BYTES" in response.content
    assert db_counts() == (0, 0, 0, 0)
    assert list(settings.IMPORT_STAGING_ROOT.iterdir()) == []


def test_only_admins_may_import(db, client, make_user, media):
    client.force_login(make_user(roles.REVIEWER))
    assert client.get(reverse(URL)).status_code == 403
    response = _post(client, _manifest(), _zip({"p1/a.mp4": b"a", "p1/b.mp4": b"b"}))
    assert response.status_code == 403
    client.force_login(make_user(roles.ANNOTATOR))
    assert client.get(reverse(URL)).status_code == 302  # not staff: sent to the admin log-in
    assert db_counts() == (0, 0, 0, 0)


def test_admin_uploads_a_safesora_config_and_its_videos(db, admin_client_, media):
    from .importing import SAMPLES

    root = SAMPLES / "safesora"
    members = {str(p.relative_to(root)): p.read_bytes() for p in (root / "videos").rglob("*.mp4")}
    response = admin_client_.post(
        reverse(URL),
        {
            "name": "safesora-upload",
            "overlap": 3,
            "priority": 0,
            "manifest": SimpleUploadedFile(
                "config-test.json.gz", (root / "config-test.json.gz").read_bytes()
            ),
            "videos": SimpleUploadedFile("videos.zip", _zip(members)),
        },
    )
    assert response.status_code == 302
    batch = Batch.objects.get(name="safesora-upload")
    assert sorted(batch.pairs.values_list("pair_id", flat=True)) == [
        "c07b5e6100a00006-c07b5e6101b00007",
        "c07b5e6100a00006-c07b5e6102a00008",
        "c07b5e6101b00007-c07b5e6102a00008",
    ]
    assert Video.objects.count() == 3
