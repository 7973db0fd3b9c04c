"""Reading the elements of a top-level JSON list one by one from a text stream.

A released SafeSora config is 380 MB of JSON: holding its text whole (and its bytes while
they are decoded) would be most of an import's memory, so the list is parsed element by
element from chunks of the (gunzipped) stream, and only the unparsed rest is kept. Each
element comes with the line it starts on, so every problem can be located in the file.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

CHUNK_CHARS = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")


class JsonListError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _Buffer:
    """The unparsed rest of the stream; `line` is the line number of its first character."""

    def __init__(self, read: Callable[[int], str]):
        self.read, self.text, self.eof, self.line = read, "", False, 1

    def more(self) -> bool:
        # At least as much again as is held: a long element costs a few re-parses, not one
        # per chunk.
        chunk = "" if self.eof else self.read(max(CHUNK_CHARS, len(self.text)))
        self.eof = not chunk
        self.text += chunk
        return bool(chunk)

    def space(self, pos: int) -> int:
        """The position after the whitespace at `pos`, reading on while the text ends there."""
        pos = _SPACE.match(self.text, pos).end()
        while pos == len(self.text) and self.more():
            pos = _SPACE.match(self.text, pos).end()
        return pos

    def decode(self, decoder: json.JSONDecoder, pos: int) -> tuple[Any, int]:
        while True:
            try:
                value, end = decoder.raw_decode(self.text, pos)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue  # the element may only be cut off by the chunk's end
                message = f"not valid JSON ({exc.msg} at column {exc.colno})"
                raise JsonListError(self.line + exc.lineno - 1, message) from None
            # A number (or anything) that ends where the text does may go on in the next chunk.
            if end < len(self.text) or not self.more():
                return value, end

    def drop_before(self, pos: int) -> int:
        """Forget the text before the line `pos` is on; the new position of `pos`."""
        cut = self.text.rfind("\n", 0, pos) + 1
        self.line += self.text.count("\n", 0, cut)
        self.text = self.text[cut:]
        return pos - cut

    def rest_is_space(self, pos: int) -> bool:
        while True:
            if self.text[pos:].strip():
                return False
            self.text, pos = "", 0
            if not self.more():
                return True


def iter_json_stream(read: Callable[[int], str]) -> Iterator[tuple[int, Any]]:
    """(line, element) for each element of the top-level JSON list `read(n)` returns in
    pieces (a text file's `read`); JsonListError where it is not one."""
    decoder = json.JSONDecoder()
    buf = _Buffer(read)
    pos = buf.space(0)
    line, counted = 1, 0  # the line at position `counted`
    if pos >= len(buf.text) or buf.text[pos] != "[":
        raise JsonListError(buf.line + buf.text.count("\n", 0, pos), _NOT_A_LIST)
    pos = buf.space(pos + 1)
    if buf.text.startswith("]", pos):
        return
    while True:
        line += buf.text.count("\n", counted, pos)
        if pos > CHUNK_CHARS:
            pos = buf.drop_before(pos)
        counted = pos
        value, end = buf.decode(decoder, pos)
        yield line, value
        pos = buf.space(end)
        if buf.text.startswith(",", pos):
            pos = buf.space(pos + 1)
            continue
        if buf.text.startswith("]", pos) and buf.rest_is_space(pos + 1):
            return
        line += buf.text.count("\n", counted, pos)
        raise JsonListError(line, "expected ',' or the end of the list after a record")


def iter_json_list(text: str) -> Iterator[tuple[int, Any]]:
    """(line, element) for each element of a top-level JSON list held as one text."""
    return iter_json_stream(io.StringIO(text).read)


_NOT_A_LIST = "a SafeSora config must be a JSON list of records"
