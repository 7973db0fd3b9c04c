"""The worker API's JSON body parsing behaves exactly like DRF's, errors included."""

from __future__ import annotations

import io
import json

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from annotation_server.accounts import roles
from annotation_server.core.parsing import ContentNegotiation, JSONBodyParser, request_data
from tests.assignments.workload import NEXT, answers, client_for, make_batch

BODIES = [
    b"{}",
    json.dumps(answers()).encode(),
    '{"note": "\u89c6\u9891\u574f\u4e86", "n": [1, 2.5, null, true]}'.encode(),
    b'{"n": NaN}',  # strict: refused
    b'{"n": Infinity}',
    b"{not json",
    b"",
    b"\xef\xbb\xbf{}",  # a byte-order mark
    b'{"s": "\xff\xfe"}',  # not UTF-8
    b"[1, 2",
]


def _outcome(parser, body: bytes, encoding: str = "utf-8"):
    try:
        return "ok", parser.parse(io.BytesIO(body), "application/json", {"encoding": encoding})
    except ParseError as error:
        return "error", str(error.detail)


@pytest.mark.parametrize("body", BODIES)
def test_parser_agrees_with_drf(body):
    assert _outcome(JSONBodyParser(), body) == _outcome(JSONParser(), body)


def test_parser_honours_the_request_encoding():
    body = '{"s": "é"}'.encode("latin-1")
    assert _outcome(JSONBodyParser(), body, "latin-1") == ("ok", {"s": "é"})
    assert _outcome(JSONBodyParser(), body) == _outcome(JSONParser(), body)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{}", 200),
        ("application/json; charset=utf-8", b"{}", 200),
        ("APPLICATION/JSON", b"{}", 200),
        ("application/json", b"{oops", 400),
        ("text/plain", b"{}", 415),
        ("application/x-www-form-urlencoded", b"batch=x", 415),
    ],
)
def test_claim_accepts_json_only_and_explains_errors(make_user, content_type, body, status):
    make_batch(1)
    client = client_for(make_user(roles.ANNOTATOR))
    response = client.generic("POST", NEXT, body, content_type=content_type)
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["detail"].startswith("JSON parse error")
    if status == 415:
        assert content_type.split(";")[0] in response.json()["detail"]


def _drf_request(body: bytes, content_type: str, parser=None):
    django_request = RequestFactory().generic("POST", "/x/", body, content_type=content_type)
    return Request(
        django_request, parsers=[parser or JSONBodyParser()], negotiator=ContentNegotiation()
    )


def _data_outcome(read, request):
    try:
        return "ok", read(request)
    except APIException as error:
        return type(error).__name__, str(error.detail)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain"],
)
@pytest.mark.parametrize("body", BODIES)
def test_request_data_agrees_with_drf(body, content_type):
    ours = _data_outcome(request_data, _drf_request(body, content_type))
    drf = _data_outcome(lambda request: request.data, _drf_request(body, content_type))
    assert ours == drf


def test_request_data_is_kept_where_drf_keeps_it():
    request = _drf_request(b'{"reason": "unsure"}', "application/json")
    data = request_data(request)
    assert data == {"reason": "unsure"} and request.data is data
    assert request_data(request) is data  # a second read parses nothing again
    other = _drf_request(b'{"a": 1}', "application/json", parser=JSONParser())
    assert request_data(other) == {"a": 1}  # another parser: DRF's own path
