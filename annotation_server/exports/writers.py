"""Streaming writers: a gzip JSON list written record by record, and JSON Lines.

The list writer produces exactly the bytes of `json.dumps(records, indent=4,
ensure_ascii=False)` (the published datasets' layout) without ever holding the list.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, TextIO

from .safesora import null_paths


class IncompleteRecordError(ValueError):
    """A record with a null somewhere: a bug upstream, never written to a dataset."""


def _check_complete(record: dict[str, Any]) -> None:
    nulls = null_paths(record)
    if nulls:
        raise IncompleteRecordError(f"record has null values at {', '.join(nulls)}: {record!r}")


class GzipJsonListWriter:
    """`with GzipJsonListWriter(path) as w: w.write(record)` → a gzip-compressed JSON list."""

    def __init__(self, path: Path, *, compresslevel: int = 6) -> None:
        self.path = path
        self.count = 0
        self._compresslevel = compresslevel
        self._handle: TextIO | None = None

    def __enter__(self) -> GzipJsonListWriter:
        # mtime=0 keeps the bytes reproducible: the same data gives the same file.
        raw = gzip.GzipFile(self.path, "wb", compresslevel=self._compresslevel, mtime=0)
        self._handle = _TextGzip(raw)
        self._handle.write("[")
        return self

    def write(self, record: dict[str, Any]) -> None:
        _check_complete(record)
        assert self._handle is not None
        text = json.dumps(record, indent=4, ensure_ascii=False)
        # Each record sits one level deep in the list, so every line gains four spaces;
        # strings never hold raw newlines (JSON escapes them), so this only touches layout.
        self._handle.write(
            ("\n    " if self.count == 0 else ",\n    ") + text.replace("\n", "\n    ")
        )
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._handle is not None
        self._handle.write("\n]" if self.count else "]")
        self._handle.close()


class _TextGzip:
    """Buffers text and encodes it in large blocks (far fewer gzip calls than per record)."""

    _FLUSH_AT = 1 << 20

    def __init__(self, raw: gzip.GzipFile) -> None:
        self._raw = raw
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        self._raw.write("".join(self._parts).encode("utf-8"))
        self._parts.clear()
        self._size = 0

    def close(self) -> None:
        self._flush()
        self._raw.close()


class JsonLinesWriter:
    """One compact JSON object per line (annotations.jsonl)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle: TextIO | None = None

    def __enter__(self) -> JsonLinesWriter:
        self._handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        return self

    def write(self, record: dict[str, Any]) -> None:
        assert self._handle is not None
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._handle is not None
        self._handle.close()
