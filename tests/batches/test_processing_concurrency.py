"""A processing batch becomes ready exactly when its last item finishes, however many
workers finish its items at the same moment (each worker its own database connection)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog import services, transcoding
from annotation_server.catalog.models import Video
from tests.factories import BatchFactory, PairFactory, VideoFactory

WORKERS = 4
STEPS = 6


def _finish(video: Video, ready: bool) -> None:
    """What the media task's last write does for a ready or a failed item."""
    if not ready:
        services.video_mark_failed(video_pk=video.pk, reason="the PNG file is cut short")
        return
    info = transcoding.VideoInfo(
        video_index=0, width=64, height=48, codec="png", duration_s=None, fps=None,
        rotation=0, audio_index=None, audio_channels=0,
    )  # fmt: skip
    result = transcoding.TranscodeResult(
        source=info, probe={"kind": "image"}, rendition_size=10, rendition_width=64,
        rendition_height=48, made_rendition=True, made_poster=True,
    )  # fmt: skip
    with transaction.atomic():
        services.video_finish_ready(video.pk, result, f"r/{video.pk}.png", f"p/{video.pk}.jpg")


def _image_pair(batch: Batch, pair_id: str) -> Pair:
    image = VideoFactory(status=Video.Status.PENDING)
    return PairFactory(batch=batch, prompt=image.prompt, video_0=image, video_1=None,
                       pair_id=pair_id)  # fmt: skip


def _items(batch: Batch) -> list[Video]:
    """Image items (one per pair) and, for the pair-shaped part, two videos per pair."""
    items = []
    for n in range(WORKERS * STEPS - 4):
        items.append(_image_pair(batch, f"image-{n}").video_0)
    for n in range(2):
        first = VideoFactory(status=Video.Status.PENDING)
        second = VideoFactory(status=Video.Status.PENDING, prompt=first.prompt)
        PairFactory(batch=batch, prompt=first.prompt, video_0=first, video_1=second,
                    pair_id=f"pair-{n}")  # fmt: skip
        items += [first, second]
    return items


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_batch_is_ready_when_the_last_of_items_finished_at_once_is_done(round_):
    batch = BatchFactory(status=Batch.Status.PROCESSING)
    other = BatchFactory(status=Batch.Status.PROCESSING)  # shares nothing: stays processing
    _image_pair(other, "elsewhere")
    items = _items(batch)
    shares = [items[w::WORKERS] for w in range(WORKERS)]
    step = threading.Barrier(WORKERS)
    seen: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def work(share: list[Video]) -> None:
        try:
            for i, video in enumerate(share):
                step.wait()  # every worker finishes its i-th item at the same moment
                _finish(video, ready=(i + round_) % 3 != 0)
                seen.append((i, Batch.objects.get(pk=batch.pk).status))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
            step.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    # While any worker still had an item to finish, nobody saw the batch ready.
    assert {status for i, status in seen if i < STEPS - 1} == {Batch.Status.PROCESSING}
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.READY
    assert Batch.objects.get(pk=other.pk).status == Batch.Status.PROCESSING
    failed = set(Video.objects.filter(status=Video.Status.FAILED).values_list("pk", flat=True))
    for pair in Pair.objects.filter(batch=batch):
        # A failed item's pair is out of distribution; the others are handed out.
        assert pair.active == ({pair.video_0_id, pair.video_1_id}.isdisjoint(failed))


@pytest.mark.django_db
def test_a_retried_image_that_becomes_ready_is_handed_out_again():
    batch = BatchFactory(status=Batch.Status.PROCESSING)
    pair = _image_pair(batch, "retried")
    _finish(pair.video_0, ready=False)
    pair.refresh_from_db()
    assert pair.active is False
    Video.objects.filter(pk=pair.video_0_id).update(status=Video.Status.PENDING)
    _finish(pair.video_0, ready=True)
    pair.refresh_from_db()
    assert pair.active is True
