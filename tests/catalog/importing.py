"""Helpers for the import tests: tiny fake video files and manifests (the importer never
decodes, so a few distinct bytes stand in for a clip)."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"


def clip(folder: Path, rel: str, content: bytes | None = None) -> str:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if content is not None else f"fake video {rel}".encode())
    return rel


def prompt_line(prompt_id: str, videos: list[dict], **extra) -> dict:
    return {
        "prompt_id": prompt_id,
        "prompt_text": f"Text of {prompt_id}",
        "prompt_type": "safety_neutral",
        "videos": videos,
        **extra,
    }


def write_manifest(folder: Path, lines: list[dict | str], name: str = "manifest.jsonl") -> Path:
    path = folder / name
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def copy_sample(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(SAMPLES / name, target)
    return target


def run_import(path: Path, name: str = "b1", *args: str) -> str:
    out = StringIO()
    call_command("import_batch", str(path), "--name", name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_failing_import(path: Path, name: str = "b1", *args: str) -> str:
    """Runs an import that must fail; returns its stderr (the list of problems)."""
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_batch", str(path), "--name", name, *args, stdout=StringIO(), stderr=err
        )
    return err.getvalue()


def db_counts() -> tuple[int, int, int, int]:
    return (
        Prompt.objects.count(),
        Video.objects.count(),
        Batch.objects.count(),
        Pair.objects.count(),
    )


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


@pytest.fixture
def media(settings, tmp_path):
    """An empty MEDIA_ROOT per test, so stored files can be counted."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root
