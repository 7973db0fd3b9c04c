"""The worker app compiles against types generated from the server's OpenAPI schema; the
checked-in schema and types must be what `make api-types` writes from the code as it is,
or the app's `tsc` check says nothing about the API the server actually serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = {
    "openapi.yaml": ROOT / "frontend" / "openapi.yaml",
    "api-schema.d.ts": ROOT / "frontend" / "src" / "generated" / "api-schema.d.ts",
}


def test_checked_in_api_types_match_the_schema_the_server_publishes(tmp_path):
    generator = ROOT / "frontend" / "node_modules" / ".bin" / "openapi-typescript"
    assert generator.exists(), "frontend/node_modules is missing: run `make frontend`"
    env = {**os.environ, "API_TYPES_OUT": str(tmp_path), "VENV": sys.prefix}
    run = subprocess.run(
        ["bash", str(ROOT / "deploy" / "dev" / "api-types.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"generating the schema and types failed:\n{run.stderr}"
    stale = [
        name
        for name, checked_in in GENERATED.items()
        if not checked_in.exists() or checked_in.read_text() != (tmp_path / name).read_text()
    ]
    assert not stale, (
        f"{', '.join(stale)}: not what the server's schema generates; "
        "run `make api-types` and commit the result"
    )
