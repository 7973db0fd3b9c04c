"""What loading the WSGI application (as every gunicorn worker does) leaves behind.

A worker process keeps its ~100,000 start-up objects (modules, classes, functions) for its
whole life. Unless they are frozen out of the cyclic garbage collector, every full collection
walks all of them while holding the GIL — a ~110 ms stop of every request in the process, a
few times a minute under load (docs/architecture.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, json, sys
import annotation_server.wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "views_loaded": "annotation_server.assignments.apis" in sys.modules,
}))
"""


def test_loading_the_app_imports_the_views_and_freezes_start_up_objects():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotation_server.settings"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout.strip().splitlines()[-1])
    # The views are imported at start, not by a worker's first request.
    assert state["views_loaded"]
    # What a full collection still walks is a sliver of what the process holds.
    assert state["frozen"] > 50_000
    assert state["tracked"] < state["frozen"] / 100
