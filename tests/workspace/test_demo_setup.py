"""`demo_setup`: a demo batch with transcoded clips, published; log-ins; safe to re-run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from annotation_server.accounts import demo, roles
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video
from tests.celery_worker import wait_until


@pytest.fixture
def demo_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def _demo(folder) -> str:
    out = StringIO()
    call_command(
        "demo_setup",
        "--dir",
        str(folder),
        "--size",
        "96x64",
        "--seconds",
        "1",
        "--url",
        "http://demo.test/",
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_demo_setup_builds_a_published_batch_and_is_idempotent(
    demo_media, celery_worker, tmp_path, client
):
    first = _demo(tmp_path / "demo")

    batch = Batch.objects.get(name="demo")
    assert Prompt.objects.count() == 5
    assert Prompt.objects.filter(prompt_type="safety_critical").count() == 2
    counts = sorted(Video.objects.filter(prompt=p).count() for p in Prompt.objects.all())
    assert counts == [3, 3, 3, 4, 4]
    assert batch.pairs.count() == 3 + 3 + 3 + 6 + 6
    assert "annotator1" in first and "annotator-demo-pass" in first
    # The worker transcodes in the background; the batch becomes ready when all are done.
    wait_until(
        lambda: Batch.objects.get(name="demo").status == Batch.Status.READY,
        what="the demo batch's videos to be transcoded",
    )
    assert set(Video.objects.values_list("status", flat=True)) == {Video.Status.READY}

    second = _demo(tmp_path / "demo")

    assert Batch.objects.get(name="demo").status == Batch.Status.PUBLISHED
    assert (
        Batch.objects.count(),
        Prompt.objects.count(),
        Video.objects.count(),
        Pair.objects.count(),
    ) == (1, 5, 17, 21)
    assert "http://demo.test/" in second
    for account in demo.ACCOUNTS:
        assert f"{account.username}" in second
        assert client.login(username=account.username, password=account.password)
    # The admin log-in reaches the Django admin and sees the demo batch.
    client.login(username="admin", password="admin-demo-pass")
    page = client.get("/admin/batches/batch/")
    assert page.status_code == 200 and b"demo" in page.content
    assert roles.is_admin(page.wsgi_request.user)
