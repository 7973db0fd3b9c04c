from __future__ import annotations

from pathlib import Path

import pytest

from .annotating import make_clip


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.MEDIA_ROOT
