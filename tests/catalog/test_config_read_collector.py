"""Reading a SafeSora config pauses the cyclic garbage collector and always restarts it."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from annotation_server.catalog.importers.safesora import read_config

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "safesora"


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_runs_again_after_a_config_is_read(collector_on, tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "safesora")
    plan = read_config(tmp_path / "safesora" / "config-train.json.gz")
    assert plan.pairs and not plan.issues
    assert gc.isenabled()


def test_the_collector_runs_again_after_a_config_that_is_not_json(collector_on, tmp_path):
    config = tmp_path / "config-train.json"
    config.write_text('[{"pair_id": "a", "video_0": {}},\n  oops]')
    plan = read_config(config)
    assert any(issue.field == "JSON" for issue in plan.issues)
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off(tmp_path):
    config = tmp_path / "config-train.json"
    config.write_text("[]")
    gc.disable()
    try:
        read_config(config)
        assert not gc.isenabled()
    finally:
        gc.enable()
