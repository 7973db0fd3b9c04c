"""The project's LocaleMiddleware skips the language-prefix lookups; the language it activates and
the headers it writes must stay exactly Django's own, with and without `i18n_patterns`."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.test import RequestFactory
from django.utils import translation

from annotation_server.core.middleware import LocaleMiddleware

# A URLconf with language-prefixed patterns, as a project using `i18n_patterns` would have
# (this project's own has none). Django's middleware redirects a 404 to the prefixed URL.
PREFIXED_URLCONF = "tests.core.prefixed_urls"


def _respond(middleware_class, request, status: int, prepare) -> tuple[str, str, dict]:
    middleware = middleware_class(lambda request: HttpResponse())
    try:
        answer = middleware.process_request(request)
        active = translation.get_language()
        if answer is None:
            answer = HttpResponse(status=status)
            prepare(answer)
            answer = middleware.process_response(request, answer)
        return active, request.LANGUAGE_CODE, {**answer.headers, "status": answer.status_code}
    finally:
        translation.deactivate()


def _nothing(response) -> None:
    pass


def _varies(response) -> None:
    response["Vary"] = "Cookie"  # as the session middleware leaves it


def _language_set(response) -> None:
    response["Content-Language"] = "fr"  # a view that chose its own


REQUESTS = {
    "no language asked": {},
    "Accept-Language zh-CN": {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"},
    "Accept-Language unsupported": {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"},
    "language cookie zh-hans": {"HTTP_COOKIE": "django_language=zh-hans"},
    "language cookie unknown": {"HTTP_COOKIE": "django_language=xx"},
    "cookie beats Accept-Language": {
        "HTTP_COOKIE": "django_language=en",
        "HTTP_ACCEPT_LANGUAGE": "zh-CN",
    },
}
PATHS = ["/api/v1/ping/", "/zh-hans/work/", "/en/", "/", "/nowhere"]
RESPONSES = {"ok": (200, _nothing), "varies": (200, _varies), "language set": (200, _language_set)}
RESPONSES["not found"] = (404, _nothing)


@pytest.mark.parametrize("prefixed", [False, True], ids=["project urlconf", "i18n_patterns"])
@pytest.mark.parametrize("response_kind", RESPONSES)
@pytest.mark.parametrize("url", PATHS)
@pytest.mark.parametrize("asked", REQUESTS)
def test_same_language_and_headers_as_djangos(asked, url, response_kind, prefixed):
    status, prepare = RESPONSES[response_kind]
    answers = []
    for middleware_class in (DjangoLocaleMiddleware, LocaleMiddleware):
        request = RequestFactory().get(url, **REQUESTS[asked])
        if prefixed:
            request.urlconf = PREFIXED_URLCONF
        answers.append(_respond(middleware_class, request, status, prepare))
    assert answers[1] == answers[0]


def test_project_urlconf_answers_in_the_language_asked_for():
    """The shortcut path still does its job: Chinese asked for, Chinese activated and declared."""
    request = RequestFactory().get("/api/v1/ping/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    active, code, headers = _respond(LocaleMiddleware, request, 200, _nothing)
    assert (active, code, headers["Content-Language"]) == ("zh-hans", "zh-hans", "zh-hans")
    assert headers["Vary"] == "Accept-Language"


def test_prefixed_urlconf_still_redirects_a_missing_prefix():
    """With `i18n_patterns` the project's middleware is Django's: a 404 without a prefix is
    redirected to the prefixed page in the language asked for."""
    request = RequestFactory().get("/work/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    request.urlconf = PREFIXED_URLCONF
    active, code, headers = _respond(LocaleMiddleware, request, 404, _nothing)
    assert (headers["status"], headers["Location"]) == (302, "/zh-hans/work/")
