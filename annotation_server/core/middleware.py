"""Two of the stack's middleware, each with work it repeats for every request done once.

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
"""

from __future__ import annotations

import functools
import http

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.signals import setting_changed
from django.dispatch import receiver
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
