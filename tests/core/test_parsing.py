"""The API's JSON parser: DRF's answers for ordinary bodies, a 400 naming the limit otherwise."""

from __future__ import annotations

import io
import json

import pytest
from django.test import override_settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser

from annotation_server.accounts import roles
from annotation_server.core.parsing import JSONParser
from tests.assignments.workload import NEXT, answers, client_for, make_batch

ORDINARY = [
    b"{}",
    json.dumps(answers()).encode(),
    '{"note": "\u89c6\u9891\u574f\u4e86", "n": [1, 2.5, null, true]}'.encode(),
    b'{"n": NaN}',  # strict: refused
    b"{not json",
    b"",
    b'{"s": "\xff\xfe"}',  # not UTF-8
    b"[1, 2",
]


def _outcome(parser, body: bytes, encoding: str = "utf-8"):
    try:
        return "ok", parser.parse(io.BytesIO(body), "application/json", {"encoding": encoding})
    except ParseError as error:
        return "error", str(error.detail)


@pytest.mark.parametrize("body", ORDINARY)
def test_ordinary_bodies_parse_as_drf_parses_them(body):
    assert _outcome(JSONParser(), body)[0] == _outcome(DRFJSONParser(), body)[0]
    if _outcome(JSONParser(), body)[0] == "ok":
        assert _outcome(JSONParser(), body) == _outcome(DRFJSONParser(), body)


def test_the_request_encoding_is_honoured():
    body = '{"s": "é"}'.encode("latin-1")
    assert _outcome(JSONParser(), body, "latin-1") == ("ok", {"s": "é"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested deeper than the limit of 32 levels"),
        (b"[" * 33 + b"]" * 33, "nested deeper than the limit of 32 levels"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "nested deeper than the limit of 32 levels"),
        (b'{"note": "' + b"x" * 300_000 + b'"}', "larger than the limit of 262144 bytes"),
        (b'{"note": "a\\u0000b"}', "NUL character"),
        (b'{"a\\u0000": 1}', "NUL character"),
        (b'{"note": "\\ud800"}', "unpaired surrogate"),
    ],
)
def test_limits_are_refused_with_a_message(body, message):
    outcome, detail = _outcome(JSONParser(), body)
    assert outcome == "error" and message in detail


def test_bodies_at_the_limits_parse():
    assert _outcome(JSONParser(), b"[" * 32 + b"]" * 32)[0] == "ok"
    with override_settings(API_JSON_MAX_BYTES=20):
        assert _outcome(JSONParser(), b'{"a": "0123456789"}')[0] == "ok"  # 19 bytes
        assert "larger than the limit of 20 bytes" in _outcome(JSONParser(), b"[" + b" " * 20)[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "body", "status", "detail"),
    [
        ("application/json", b"{}", 200, None),
        ("application/json; charset=utf-8", b"{}", 200, None),
        ("APPLICATION/JSON", b"{}", 200, None),
        ("application/json", b"{oops", 400, "JSON parse error"),
        ("application/json", b"[" * 5000 + b"]" * 5000, 400, "nested deeper"),
        ("text/plain", b"{}", 415, "text/plain"),
        ("application/x-www-form-urlencoded", b"batch=x", 415, "application/x-www-form"),
    ],
)
def test_claim_accepts_json_only_and_explains_errors(make_user, content_type, body, status, detail):
    make_batch(1)
    client = client_for(make_user(roles.ANNOTATOR))
    response = client.generic("POST", NEXT, body, content_type=content_type)
    assert response.status_code == status, response.content
    if detail:
        assert detail in response.json()["detail"]
