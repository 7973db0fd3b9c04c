"""The remembered content negotiation (core/negotiation.py) answers as DRF's does."""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, StaticHTMLRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from annotation_server.core import negotiation

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "text/html",
    "application/*",
    "image/png",
    "",
]
RENDERER_SETS = [
    [JSONRenderer],
    [JSONRenderer, BrowsableAPIRenderer],
    [StaticHTMLRenderer, JSONRenderer],
]


def _answer(negotiator, accept, renderer_classes, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/v1/ping/" + query, **headers))
    renderers = [cls() for cls in renderer_classes]
    try:
        renderer, media_type = negotiator.select_renderer(request, renderers)
    except exceptions.NotAcceptable:
        return "406"
    except Http404:  # a ?format= no renderer has
        return "404"
    return renderers.index(renderer), media_type


@pytest.mark.parametrize("renderer_classes", RENDERER_SETS)
@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
def test_the_same_answer_first_and_when_remembered(accept, renderer_classes, query):
    plain = _answer(DefaultContentNegotiation(), accept, renderer_classes, query)
    for _ in range(2):  # the first answer is worked out, the second one remembered
        assert _answer(negotiation.ContentNegotiation(), accept, renderer_classes, query) == plain


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(negotiation, "_MAX_KEPT", 3)
    negotiation._kept.clear()
    for n in range(10):
        _answer(negotiation.ContentNegotiation(), f"application/json; v={n}", [JSONRenderer])
    assert len(negotiation._kept) <= 3
