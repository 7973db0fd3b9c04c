"""Two imports of the same new prompts at once: no duplicates, no orphaned files."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from annotation_server.batches.models import Batch
from annotation_server.batches.services import BatchImportError, batch_import
from annotation_server.catalog.models import Prompt, Video
from annotation_server.core.exceptions import ApplicationError

from .importing import clip, media, prompt_line, stored_files, write_manifest

__all__ = ["media"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_the_same_prompts_stay_consistent(tmp_path, media):
    src = tmp_path / "in"
    lines = [
        prompt_line(
            f"p{n}",
            [
                {"path": clip(src, f"p{n}/{v}.mp4"), "video_id": f"p{n}{v}", "generated_from": v}
                for v in ("a", "b", "c")
            ],
        )
        for n in range(30)
    ]
    manifest = write_manifest(src, lines)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(name: str) -> None:
        barrier.wait()
        try:
            outcomes[name] = batch_import(path=manifest, name=name, enqueue_transcode=False)
        except (ApplicationError, BatchImportError) as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    failures = [o for o in outcomes.values() if isinstance(o, ApplicationError)]
    assert len(failures) <= 1
    for failure in failures:
        assert failure.code == "import_conflict"
    assert Batch.objects.count() == 2 - len(failures)
    assert Prompt.objects.count() == 30 and Video.objects.count() == 90
    for batch in Batch.objects.all():
        assert batch.pairs.count() == 90
    # Every stored file belongs to a video: the loser's copies were removed.
    referenced = {media / name for name in Video.objects.values_list("source", flat=True)}
    assert set(stored_files(media)) == referenced
