"""Request-body parsing for the API: DRF's JSONParser with limits on what a body may hold.

A body too large, nested too deep, or holding text PostgreSQL cannot store (NUL, lone
surrogates from `\\ud800` escapes) is refused with a 400 naming the problem. Python's decoder
would otherwise fail with RecursionError on deep nesting (not a ValueError, so DRF answers
500), and the database would fail on the text when a view stores it.
"""

from __future__ import annotations

import codecs
import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser (media type, strict constants and errors as DRF's), plus the limits
    `API_JSON_MAX_BYTES` and `API_JSON_MAX_DEPTH`."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_JSON_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"The JSON body is larger than the limit of {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=strict_constant if self.strict else None)
        except RecursionError as exc:
            raise ParseError(_too_deep()) from exc
        except (ValueError, LookupError) as exc:  # bad UTF-8 or JSON, an unknown charset
            raise ParseError(f"JSON parse error - {exc}") from exc
        json_check(data)
        return data


def _too_deep() -> str:
    return f"The JSON body is nested deeper than the limit of {settings.API_JSON_MAX_DEPTH} levels."


def json_check(data) -> None:
    """Raise ParseError when parsed JSON nests deeper than API_JSON_MAX_DEPTH or holds a string
    (key or value) that the database cannot store."""
    max_depth = settings.API_JSON_MAX_DEPTH
    stack = [(data, 1)]  # iterative: the depth being checked may exceed Python's recursion limit
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise ParseError(_too_deep())
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((item, depth + 1))


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ParseError("The JSON body holds a NUL character (\\u0000), which is not allowed.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ParseError(
            "The JSON body holds an unpaired surrogate escape (\\ud800–\\udfff), "
            "which is not valid text."
        ) from exc
