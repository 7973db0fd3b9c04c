"""HTTP byte ranges (RFC 9110 §14) for serving videos: parsing only, no Django.

Django's FileResponse ignores `Range` (ticket #22479 is still open) and no maintained package
does it for private, permission-checked files, so this small parser lives here. Only single
ranges are honoured; a multi-range or malformed header is ignored and the whole file is sent,
which the RFC allows and every browser handles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(Exception):
    """The range starts beyond the end of the file: answer 416."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range to send for `header` over a file of `size` bytes.

    None means "send the whole file" (no header, another unit, several ranges, bad syntax);
    RangeNotSatisfiable means answer 416 with `Content-Range: bytes */size`.
    """
    if not header:
        return None
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs or "," in specs:
        return None
    match = _SPEC.match(specs)
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: the RFC says to ignore the header
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, min(end, size - 1))
