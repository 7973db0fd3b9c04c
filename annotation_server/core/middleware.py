"""Three of the stack's middleware: two that do once work Django's repeats for every request,
and one that refuses input the application cannot handle.

`CSPMiddleware`: django-csp's middleware, with the settings' own policy built once instead of
per response.

django-csp 4 rebuilds the Content-Security-Policy header for every response: it copies the
policy parts into a dict (`dataclasses.asdict`) and formats every directive again, for the
enforced and the report-only header each. That was about 0.37 M instructions, a sixth of a
trivial API request's web-side cost (measured with callgrind). For almost every
response the policy is the settings' one: no view decorator changed it and no nonce was
asked for. That header depends only on the settings, so it is built once per settings value
(and again when a test changes them). Everything else (a nonce, `@csp_update` and the other
decorators, the debug pages) goes through django-csp's own `process_response`.

`LocaleMiddleware`: Django's, without the language-prefix work when the URLconf has no
`i18n_patterns` (this project's has none). Django's version looks for a language code at the
start of the path twice per request (`get_language_from_path`), once in each hook, even when
no URL pattern is prefixed and the answer cannot matter. For `/api/...` that lookup fails
slowly: `get_supported_language_variant("api")` is not cached when it raises `LookupError`,
so every request tries each variant again, twice. A URLconf with `i18n_patterns` (a test's,
or a later one of the project's) gets Django's own hooks.

`RequestInputMiddleware`: a 4xx with a message for NUL and control characters in the path,
query, headers, cookies and form fields, and for over-long paths, query strings and headers.
"""

from __future__ import annotations

import functools
import http
import re

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware import locale
from django.utils import translation
from django.utils.cache import patch_vary_headers

# What django-csp's decorators set on a response (csp.decorators).
_PER_RESPONSE = tuple(
    f"_csp_{part}{suffix}" for part in ("config", "update", "replace") for suffix in ("", "_ro")
)
_DEBUG_EXEMPT = (http.HTTPStatus.INTERNAL_SERVER_ERROR, http.HTTPStatus.NOT_FOUND)


@functools.cache
def _settings_headers() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, its exemption attribute, the settings' policy, excluded path prefixes) for
    the enforced and the report-only policy that are set (a non-empty policy)."""
    headers = []
    for header, exempt, setting, report_only in (
        (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY", False),
        (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
    ):
        policy = build_policy(report_only=report_only)
        if policy:
            config = getattr(settings, setting, None) or {}
            prefixes = tuple(config.get("EXCLUDE_URL_PREFIXES") or ())
            headers.append((header, exempt, policy, prefixes))
    return tuple(headers)


@receiver(setting_changed)
def _forget_settings_headers(*, setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_headers.cache_clear()


class CSPMiddleware(_CSPMiddleware):
    """django-csp's `CSPMiddleware` (same headers, same nonce behaviour)."""

    def process_response(self, request, response):
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_RESPONSE)
            or (settings.DEBUG and response.status_code in _DEBUG_EXEMPT)
        ):
            return super().process_response(request, response)
        path = request.path_info
        for header, exempt, policy, prefixes in _settings_headers():
            # django-csp's conditions: not set already, not exempted, not an excluded prefix.
            if (
                header not in response
                and getattr(response, exempt, False) is False
                and not path.startswith(prefixes)
            ):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def _prefixed_urls(request) -> bool:
    """Whether the request's URLconf uses `i18n_patterns` (Django caches the answer per URLconf)."""
    return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]


class LocaleMiddleware(locale.LocaleMiddleware):
    """Django's `LocaleMiddleware` (same language, same headers)."""

    def process_request(self, request):
        if _prefixed_urls(request):
            return super().process_request(request)
        # Django's, where no pattern is prefixed: the cookie, then Accept-Language, then
        # LANGUAGE_CODE; the path is not looked at.
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        if _prefixed_urls(request):
            return super().process_response(request, response)
        # Django's, where no pattern is prefixed: no redirect to a prefixed URL on a 404.
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


# C0 control characters and DEL: never part of a URL path or a header value (tab aside).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_HEADER_KEYS = ("HTTP_", "CONTENT_")  # request.META keys of the request's headers


def request_input_problem(request) -> tuple[int, str] | None:
    """(status, message) for what makes the request's path, query, headers, cookies or form
    fields unusable, or None.

    NUL is refused everywhere: PostgreSQL cannot store or compare text holding it, so a NUL
    reaching a query (an entry token, a session cookie, a search box) fails as a server error.
    A path with a control character names nothing that exists (404); an over-long path is 414;
    the rest is 400. Over-long values are refused before any view or database sees them.
    """
    path = request.path
    if len(path) > settings.REQUEST_MAX_PATH_LENGTH:
        return 414, f"The URL path is longer than {settings.REQUEST_MAX_PATH_LENGTH} characters."
    if _PATH_CONTROL.search(path):
        return 404, "Not found: the URL path holds a control character (such as NUL)."
    problem = _value_problem(request)
    return (400, problem) if problem else None


def _value_problem(request) -> str | None:
    if len(request.META.get("QUERY_STRING", "")) > settings.REQUEST_MAX_QUERY_LENGTH:
        return f"The query string is longer than {settings.REQUEST_MAX_QUERY_LENGTH} characters."
    # Every request passes here: the limit is read once and a header named only when refused.
    limit = settings.REQUEST_MAX_HEADER_LENGTH
    for name, value in request.META.items():
        if name.startswith(_HEADER_KEYS) and isinstance(value, str):
            if len(value) > limit:
                return f"The {_header_name(name)} header is longer than {limit} characters."
            if _CONTROL.search(value):
                return f"The {_header_name(name)} header holds a control character (such as NUL)."
    if _has_nul(request.COOKIES.items()):
        return "A cookie holds a NUL character."
    if _has_nul(request.GET.lists()):
        return "The query string holds a NUL character (%00)."
    # The API parses JSON only (a form body there is DRF's 415), so only pages read forms.
    if (
        request.method == "POST"
        and request.content_type in _FORM_TYPES
        and not request.path.startswith("/api/")
    ):
        try:
            fields = request.POST
        except OSError:  # the client went away mid-body: CsrfViewMiddleware answers that
            return None
        except MultiPartParserError as error:
            return f"The form body cannot be read: {error}."
        if _has_nul(fields.lists()):
            return "A form field holds a NUL character."
    return None


def _header_name(meta_key: str) -> str:
    return meta_key.removeprefix("HTTP_").replace("_", "-").title()


def _has_nul(items) -> bool:
    for key, values in items:
        if "\x00" in key:
            return True
        for value in values if isinstance(values, list) else [values]:
            if "\x00" in value:
                return True
    return False


class RequestInputMiddleware:
    """Answers with a 4xx and a message a request that `request_input_problem` refuses; JSON of
    the API's error shape under /api/, plain text elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = request_input_problem(request)
        if problem is None:
            return self.get_response(request)
        status, message = problem
        if request.path.startswith("/api/"):
            code = "not_found" if status == 404 else "invalid_request"
            return JsonResponse({"detail": message, "code": code}, status=status)
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
