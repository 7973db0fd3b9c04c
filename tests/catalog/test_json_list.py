"""A config's list is parsed element by element from chunks of the stream: every element,
its starting line and every error must be what parsing the whole text gives, wherever the
chunks end."""

from __future__ import annotations

import io
import json

import pytest

from annotation_server.catalog.importers import json_list
from annotation_server.catalog.importers.json_list import JsonListError, iter_json_stream

ELEMENTS = [{"a": "x" * 30, "n": 12345}, 678, [1, 2.5e3, None], "s\\t\u00e9\n", True, {}]
TEXT = "[\n" + ",\n\n".join(json.dumps(e, indent=2) for e in ELEMENTS) + "\n]\n"


def _lines(text: str) -> list[int]:
    """Where each top-level element starts, counted by hand."""
    out, depth, in_string, escaped = [], 0, False, False
    for pos, ch in enumerate(text):
        if in_string:
            in_string = not (ch == '"' and not escaped)
            escaped = ch == "\\" and not escaped
            continue
        if depth == 1 and not ch.isspace() and ch not in ",]":
            if not out or text[:pos].rstrip().endswith(("[", ",")):
                out.append(text.count("\n", 0, pos) + 1)
        if ch == '"':
            in_string = True
        depth += ch in "[{"
        depth -= ch in "]}"
    return out


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_every_element_and_its_line_whatever_the_chunks(monkeypatch, chunk):
    monkeypatch.setattr(json_list, "CHUNK_CHARS", chunk)
    got = list(iter_json_stream(io.StringIO(TEXT).read))
    assert [value for _, value in got] == ELEMENTS
    assert [line for line, _ in got] == _lines(TEXT)


@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[\n{"a": 1},\n  oops]', 3, "not valid JSON (Expecting value at column 3)"),
        ('[\n{"a": 1}\n{"b": 2}]', 3, "expected ','"),
        ('[\n{"a": 1}]\n x', 2, "expected ','"),
        ('\n\n{"a": 1}', 3, "must be a JSON list"),
        ('[\n{"a": "unterminated\n}]', 2, "not valid JSON (Invalid control character"),
    ],
)
def test_errors_name_the_line_whatever_the_chunks(monkeypatch, chunk, text, line, message):
    monkeypatch.setattr(json_list, "CHUNK_CHARS", chunk)
    with pytest.raises(JsonListError) as caught:
        list(iter_json_stream(io.StringIO(text).read))
    assert caught.value.line == line
    assert message in caught.value.message
