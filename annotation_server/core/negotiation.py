"""DRF's content negotiation, remembering its answer for each Accept header.

Every API request picks its renderer: DRF parses the Accept header into media types, orders
them by precedence and matches each against every renderer, about 30 µs of a request that
costs ~500 µs in all when trivial (`GET /api/v1/ping/`, docs/benchmarks.md). The answer
depends only on the view's renderers, the requested format and the Accept header, and clients
send the same few headers over and over, so it is kept per (renderers, format, Accept).

The plain meaning is `DefaultContentNegotiation.select_renderer`, which runs for every header
not seen yet and whenever no renderer fits (406, never kept);
`tests/core/test_negotiation.py` compares both on a range of headers.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

# Distinct (renderers, format, Accept) answers kept at most; then the memory starts afresh
# (headers a client makes up cannot grow it without bound).
_MAX_KEPT = 512
_kept: dict[tuple, tuple[int, str]] = {}


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        format_ = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (
            tuple((type(r), r.media_type, r.format) for r in renderers),
            format_,
            request.META.get("HTTP_ACCEPT"),
        )
        kept = _kept.get(key)
        if kept is not None:
            return renderers[kept[0]], kept[1]
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(_kept) >= _MAX_KEPT:
            _kept.clear()
        _kept[key] = (next(i for i, r in enumerate(renderers) if r is renderer), media_type)
        return renderer, media_type
