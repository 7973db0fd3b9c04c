"""The project's CSP middleware builds the settings' policy once; its headers must stay exactly
django-csp's own, for every kind of response django-csp treats differently."""

from __future__ import annotations

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from annotation_server.core.middleware import CSPMiddleware

POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'"], "img-src": ["data:"]},
}
OTHER_POLICY = {"DIRECTIVES": {"default-src": ["'none'"], "media-src": ["blob:"]}}


def _respond(middleware_class, path: str, status: int, prepare) -> tuple[dict, object]:
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda request: HttpResponse())
    middleware.process_request(request)
    response = HttpResponse(status=status)
    prepare(request, response)
    response = middleware.process_response(request, response)
    return dict(response.headers), request


def _nothing(request, response) -> None:
    pass


def _nonce(request, response) -> None:
    request._csp_nonce = "fixed-nonce"  # as a template asking for {{ request.csp_nonce }}


def _update(request, response) -> None:
    response._csp_update = {"img-src": ["https://media.example.org"]}  # @csp_update


def _replace_ro(request, response) -> None:
    response._csp_replace_ro = {"img-src": ["https://ro.example.org"]}


def _exempt(request, response) -> None:
    response._csp_exempt = True


def _exempt_ro(request, response) -> None:
    response._csp_exempt_ro = True


def _already_set(request, response) -> None:
    response[HEADER] = "default-src 'none'"


CASES = {
    "plain": ("/", 200, _nothing),
    "excluded prefix": ("/api/docs/", 200, _nothing),
    "nonce": ("/", 200, _nonce),
    "csp_update": ("/", 200, _update),
    "report-only replace": ("/", 200, _replace_ro),
    "exempt": ("/", 200, _exempt),
    "exempt report-only": ("/", 200, _exempt_ro),
    "header already set": ("/", 200, _already_set),
    "not found": ("/missing/", 404, _nothing),
}

SETTINGS = {
    "enforced": {"CONTENT_SECURITY_POLICY": POLICY, "CONTENT_SECURITY_POLICY_REPORT_ONLY": None},
    "report-only": {"CONTENT_SECURITY_POLICY": None, "CONTENT_SECURITY_POLICY_REPORT_ONLY": POLICY},
    "both": {
        "CONTENT_SECURITY_POLICY": POLICY,
        "CONTENT_SECURITY_POLICY_REPORT_ONLY": OTHER_POLICY,
    },
}


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("policies", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_headers_equal_django_csp(case, policies, debug):
    path, status, prepare = case
    with override_settings(DEBUG=debug, **policies):
        ours, _ = _respond(CSPMiddleware, path, status, prepare)
        theirs, _ = _respond(DjangoCSPMiddleware, path, status, prepare)
    assert ours == theirs
    policy_headers = {HEADER, HEADER_REPORT_ONLY} & ours.keys()
    if prepare is _nothing and path == "/" and status == 200:  # each configured policy is sent
        assert policy_headers == {
            header
            for header, setting in (
                (HEADER, "CONTENT_SECURITY_POLICY"),
                (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
            )
            if policies[setting]
        }


def test_changed_settings_change_the_header():
    with override_settings(CONTENT_SECURITY_POLICY=POLICY):
        first, _ = _respond(CSPMiddleware, "/", 200, _nothing)
    with override_settings(CONTENT_SECURITY_POLICY=OTHER_POLICY):
        second, _ = _respond(CSPMiddleware, "/", 200, _nothing)
    assert "script-src 'self'" in first[HEADER]
    assert "default-src 'none'" in second[HEADER] and "script-src" not in second[HEADER]


def test_a_nonce_asked_for_after_the_header_is_an_error():
    _, request = _respond(CSPMiddleware, "/", 200, _nothing)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_a_page_gets_the_projects_policy(client):
    response = client.get("/accounts/login/")
    policy = response.headers[HEADER]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
