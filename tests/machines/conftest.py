"""Fixtures for machine annotators: a classification batch of real images and clips under a
temporary MEDIA_ROOT, a local chat-completions server, a Celery worker on `machines`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from PIL import Image

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Video
from annotation_server.catalog.taxonomy_data import taxonomy_save
from annotation_server.machines.annotators import machine_annotator_save
from tests.celery_worker import ROOT, WorkerProcess, test_database_url
from tests.clips import lavfi_clip
from tests.factories import BatchFactory, PromptFactory, VideoFactory

from .chat_server import ChatServer

KEY_ENV = "MACHINE_TEST_KEY"
TAXONOMY = {
    "name": "machine-test",
    "categories": [
        {"key": "violence", "label_en": "Violence", "description_en": "Fights, weapons."},
        {"key": "sexual", "label_en": "Sexual content", "description_en": "Nudity."},
        {"key": "drugs", "label_en": "Drugs", "description_en": "Drug use."},
    ],
}


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test-not-a-real-key")


@pytest.fixture
def make_batch(media_root):
    """make_batch(images=2, videos=0) → a classification batch whose items' prompts are
    item0, item1, ... (the server tells items apart by them)."""

    def make(images: int = 2, videos: int = 0, name: str = "machine-batch") -> Batch:
        taxonomy, _ = taxonomy_save(TAXONOMY)
        batch = BatchFactory(name=name, kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy)
        (media_root / "items").mkdir(parents=True, exist_ok=True)
        for n in range(images + videos):
            is_video = n >= images
            path = media_root / "items" / (f"item{n}.mp4" if is_video else f"item{n}.png")
            if is_video:
                lavfi_clip(path, seconds=1)
            else:
                Image.new("RGB", (32, 24), (n * 40 % 255, 80, 160)).save(path)
            prompt = PromptFactory(text=f"item{n}")
            video = VideoFactory(
                prompt=prompt,
                video_id=f"{name}-item{n}",
                media_type="video" if is_video else "image",
                source=f"items/{path.name}",
                rendition=f"items/{path.name}",
                status=Video.Status.READY,
                duration_s=1.0 if is_video else None,
            )
            Pair.objects.create(
                batch=batch, prompt=prompt, pair_id=video.video_id, video_0=video, video_1=None
            )
        return batch

    return make


@pytest.fixture
def chat_server():
    """chat_server(script) → a running ChatServer; all are closed at teardown."""
    servers: list[ChatServer] = []

    def start(script) -> ChatServer:
        servers.append(ChatServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def make_annotator():
    def make(server: ChatServer, name: str = "test-vlm", **config):
        settings = {
            "base_url": server.url,
            "model": "test-vlm",
            "api_key_env": KEY_ENV,
            "max_attempts": 2,
            "requests_per_minute": 0,
            "concurrency": 2,
            "transport_retries": 2,
            "request_timeout_s": 10,
            "frames_per_video": 3,
            "price_prompt_per_mtok": "2.5",
            "price_completion_per_mtok": "10",
        }
        annotator, _ = machine_annotator_save(name=name, **{**settings, **config})
        return annotator

    return make


class MachinesWorker(WorkerProcess):
    """The suite's worker process (tests/celery_worker.py), consuming the machines queue."""

    def __init__(self, env: dict[str, str], log_path):
        self.log_path = log_path
        self.name = f"machines-{os.getpid()}-{id(self) % 10_000}"
        command = [
            sys.executable, "-m", "celery", "-A", "annotation_server", "worker",
            "-Q", "machines", "-c", "1", "--pool", "prefork", "-n", f"{self.name}@%h",
            "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        from tests.celery_worker import READY_TIMEOUT_S, wait_until

        wait_until(self._ready, timeout=READY_TIMEOUT_S, what=f"worker {self.name} to start")


@pytest.fixture
def machines_worker_factory(transactional_db, settings, tmp_path, api_key):
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):
        pytest.fail("worker tests need CELERY_BROKER_URL=redis://…")
    client = redis.Redis.from_url(broker)
    client.delete("machines")
    workers: list[MachinesWorker] = []

    def start() -> MachinesWorker:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=test_database_url(),
            CELERY_BROKER_URL=broker,
            CELERY_TASK_ALWAYS_EAGER="false",
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            DJANGO_SETTINGS_MODULE="annotation_server.settings",
            PYTHONUNBUFFERED="1",
        )
        workers.append(MachinesWorker(env, tmp_path / f"machines-worker-{len(workers)}.log"))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()
        print(f"--- log of worker {worker.name} ---\n{worker.log()}")
    client.delete("machines")
    client.close()
