"""The shipped production env file, read the way docker compose reads an env file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = ROOT / "deploy" / "production.env.example"


def read_env_file(path: Path = PRODUCTION_ENV) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values
