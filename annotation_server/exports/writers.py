"""Streaming writers: a gzip JSON list written record by record, and JSON Lines.

The list writer produces exactly the bytes of `json.dumps(records, indent=4,
ensure_ascii=False)` (the published datasets' layout) without ever holding the list.
"""

from __future__ import annotations

import gzip
import json
from json.encoder import encode_basestring  # the C accelerator when available
from pathlib import Path
from typing import Any, TextIO

from .safesora import null_paths


class IncompleteRecordError(ValueError):
    """A record with a null somewhere: a bug upstream, never written to a dataset."""


_INDENT = "    "


def dumps_indented(value: Any, level: int = 0) -> str:
    """`json.dumps(value, indent=4, ensure_ascii=False)` shifted `level` indents right, refusing
    nulls at any depth (SafeSora records must be complete).

    The standard library falls back to its pure-Python encoder whenever `indent` is set; this
    walks the few types a record holds and leaves strings to the C `encode_basestring`, which
    makes the export several times faster. Tests compare the bytes with json.dumps.
    """
    parts: list[str] = []
    try:
        _encode(value, level, parts)
    except IncompleteRecordError:
        raise IncompleteRecordError(
            f"record has null values at {', '.join(null_paths(value))}: {value!r}"
        ) from None
    return "".join(parts)


def _encode(value: Any, level: int, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        raise IncompleteRecordError("null")
    elif isinstance(value, dict):
        _encode_dict(value, level, out)
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = "\n" + _INDENT * (level + 1)
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _encode(item, level + 1, out)
            separator = "," + inner
        out.append("\n" + _INDENT * level + "]")
    elif isinstance(value, int | float):
        out.append(json.dumps(value))
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_FLAT_DICTS: dict[tuple, str] = {}
_FLAT_DICTS_MAX = 4096


def _encode_dict(value: dict, level: int, out: list[str]) -> None:
    if not value:
        out.append("{}")
        return
    try:
        # Flat dicts (HarmLabels, sub_preferences) repeat in every record: encode each
        # distinct one once. Value types are part of the key because True == 1.
        memo_key = (level, tuple(value.items()), tuple(map(type, value.values())))
        cached = _FLAT_DICTS.get(memo_key)
    except TypeError:  # holds a dict or list: not flat
        _encode_items(value, level, out)
        return
    if cached is None:
        parts: list[str] = []
        _encode_items(value, level, parts)
        cached = "".join(parts)
        if len(_FLAT_DICTS) >= _FLAT_DICTS_MAX:
            _FLAT_DICTS.clear()
        _FLAT_DICTS[memo_key] = cached
    out.append(cached)


def _encode_items(value: dict, level: int, out: list[str]) -> None:
    inner = "\n" + _INDENT * (level + 1)
    separator = "{" + inner
    for key, item in value.items():
        out.append(separator + encode_basestring(key) + ": ")
        # Leaves inline: most values are booleans and strings, and a call per leaf would
        # dominate the export's time.
        if item is True:
            out.append("true")
        elif item is False:
            out.append("false")
        elif type(item) is str:
            out.append(encode_basestring(item))
        else:
            _encode(item, level + 1, out)
        separator = "," + inner
    out.append("\n" + _INDENT * level + "}")


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
        """Append one record (raises IncompleteRecordError, writing nothing, on a null)."""
        assert self._handle is not None
        text = dumps_indented(record, level=1)
        self._handle.write(("\n    " if self.count == 0 else ",\n    ") + text)
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


def splits_drop_empty(*writers: GzipJsonListWriter) -> list[str]:
    """Removes the config of each split that got no record and names those splits.

    An empty config is valid JSON, but a dataset folder with one refuses to import
    ("config has no video records") and gives researchers a split to special-case; the
    loaders load each config by name, so a missing split is simply not loaded."""
    dropped = []
    for writer in writers:
        if writer.count == 0:
            writer.path.unlink()
            dropped.append(writer.path.name.removeprefix("config-").split(".")[0])
    return dropped
