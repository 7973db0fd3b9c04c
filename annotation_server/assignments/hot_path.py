"""The worker loop's two hottest requests served in one flat step: `POST next/` and `submit/`.

A worker's claim or submit is one SQL statement that also checks the caller
(accounts.authentication). Around it, Django's nested middleware chain, URL resolution and
DRF's dispatch (request wrapper, content negotiation, template response, rendering) cost
about as much web-side CPU again as the statement's own work (docs/benchmarks.md, "session
11"). `HotPathMiddleware`, first in MIDDLEWARE, runs the same request cycle flattened:

- every other middleware's `process_request` in order, `process_view` with the real view;
  if any of them answers or raises, the request goes the usual way instead;
- then the view's work: the caller from a hint (`request_caller`), the body parsed and
  validated by the view's own validator, the service's in-statement form, the view's own
  presentation, rendered by DRF's `JSONRenderer` with the headers DRF's response carries;
- then every middleware's `process_response` in reverse order.

It answers only the everyday success (200 for a claim, 200/201 for a submit). Anything else
goes the usual way, through the unchanged DRF view, which then gives its own answer: no caller
hint, a failed CSRF check, an unusual Accept or Content-Type, a query string (the view's
`?prefetch=`; the worker app sends `prefetch` in the body, served flat), invalid input, a
statement that found no such caller (it wrote nothing), a caller without the permission (it
wrote nothing: `caller_may_sql` is at least as strict), nothing left to claim, or any error.
Going the usual way after a statement is safe: a claim resumes the worker's open
assignment and a repeated submit returns the stored result.

It accepts only middleware whose whole behaviour lies in those hooks: plain `MiddlewareMixin`
subclasses without `process_template_response` (`process_exception` never applies: an error
sends the request the usual way), and WhiteNoise, which serves nothing under these paths.
Otherwise, when it is not first in MIDDLEWARE, or on SQLite, it steps aside and every
request goes the usual way.
"""

from __future__ import annotations

import functools
import types

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.urls import get_resolver, resolve
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from whitenoise.middleware import WhiteNoiseMiddleware

from annotation_server.accounts.authentication import active_user, request_caller
from annotation_server.annotations import apis as annotation_apis
from annotation_server.annotations import services as annotation_services
from annotation_server.assignments import apis, services
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.parsing import JSONBodyParser, decode_json

# What the worker app sends (frontend/src/api.ts), what HTTP clients send by default, and no
# header at all: DRF's negotiation picks the JSON renderer for each without parameters.
_ACCEPTS = frozenset({"application/json", "*/*", None})


class _UsualWay(Exception):
    """The request is to be answered the usual way (nothing was written)."""


# Errors after which the usual way gives its own answer: the view's (invalid input, not
# found, conflict), a database error, or reading the body (larger than
# DATA_UPLOAD_MAX_MEMORY_SIZE, not JSON, the client went away).
_USUAL_WAY = (
    _UsualWay,
    APIException,
    ApplicationError,
    DatabaseError,
    SuspiciousOperation,
    ValueError,
    OSError,
)


def _claim(caller, authenticate, data):
    # The worker app claims most pairs with `prefetch` (the next pair, while the worker
    # annotates the current one).
    data = apis._NEXT_INPUT.validate(data)
    assignment = services.assignment_claim_next_for(
        caller=caller,
        authenticate=authenticate,
        batch_name=data.get("batch"),
        prefetch=data["prefetch"],
    )
    if assignment is None:
        raise _UsualWay  # nothing left: the view answers 204 (after its own sweep)
    return 200, apis.assignment_present(assignment)


def _submit(caller, authenticate, data, assignment_id):
    assignment_id = apis.parse_assignment_id(assignment_id)
    answers = annotation_apis._SUBMIT_INPUT.validate(data)
    annotation, created = annotation_services.annotation_submit_for(
        caller=caller, authenticate=authenticate, assignment_id=assignment_id, answers=answers
    )
    return (201 if created else 200), {"id": str(annotation.assignment_id), "status": "submitted"}


class _Route(types.SimpleNamespace):
    """One hot view: its callback (for process_view), work, renderer, fixed headers,
    authenticators and permissions."""


@functools.cache
def _routes() -> tuple[dict[str, _Route], tuple[str, str, _Route] | None]:
    """The claim's path, and the submit path's prefix and suffix around the assignment id,
    from the URLconf; each checked to resolve to the view it replaces."""
    resolver = get_resolver()

    def route(name, work, view_class, **kwargs):
        path = "/" + resolver.reverse(name, **kwargs)
        match = resolve(path)
        if getattr(match.func, "view_class", None) is not view_class:
            return path, None
        view = view_class()
        headers = dict(view.default_response_headers)  # Allow (and Vary with 2+ renderers)
        renderers = view.get_renderers()
        if len(renderers) != 1 or type(renderers[0]) is not JSONRenderer:
            return path, None
        if [type(p) for p in view.get_parsers()] != [JSONBodyParser]:
            return path, None
        return path, _Route(
            callback=match.func,
            work=work,
            headers=headers,
            renderer=renderers[0],
            authenticators=view.get_authenticators(),
            permissions=view.get_permissions(),
        )

    claim_path, claim = route("assignment-next", _claim, apis.AssignmentNextApi)
    marker = "00000000-0000-0000-0000-000000000000"
    submit_path, submit = route(
        "assignment-submit",
        _submit,
        annotation_apis.AssignmentSubmitApi,
        assignment_id=marker,
    )
    prefix, suffix = submit_path.split(marker)
    return ({claim_path: claim} if claim else {}), ((prefix, suffix, submit) if submit else None)


def _supported(middleware) -> bool:
    return (
        isinstance(middleware, MiddlewareMixin)
        and type(middleware).__call__ is MiddlewareMixin.__call__
        and not hasattr(middleware, "process_template_response")
    )


class HotPathMiddleware:
    """First in MIDDLEWARE: serves everyday claims and submits flat (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response
        names = list(settings.MIDDLEWARE)
        own = f"{type(self).__module__}.{type(self).__qualname__}"
        others = names[names.index(own) + 1 :] if own in names else names
        classes = [import_string(name) for name in others]
        # WhiteNoise serves its static files only and calls the rest of the chain otherwise.
        hooks = [c(_never_called) for c in classes if not issubclass(c, WhiteNoiseMiddleware)]
        self.enabled = names[:1] == [own] and all(_supported(m) for m in hooks)
        self._request_hooks = [m.process_request for m in hooks if hasattr(m, "process_request")]
        self._view_hooks = [m.process_view for m in hooks if hasattr(m, "process_view")]
        self._response_hooks = [
            m.process_response for m in reversed(hooks) if hasattr(m, "process_response")
        ]

    def __call__(self, request):
        if self.enabled and request.method == "POST" and connection.vendor == "postgresql":
            route, kwargs = self._route(request.path_info)
            if route is not None:
                response = self._serve(request, route, kwargs)
                if response is not None:
                    return response
        return self.get_response(request)

    @staticmethod
    def _route(path: str):
        claims, submit = _routes()
        route = claims.get(path)
        if route is not None:
            return route, {}
        if submit is not None:
            prefix, suffix, route = submit
            if path.startswith(prefix) and path.endswith(suffix):
                assignment_id = path[len(prefix) : len(path) - len(suffix)]
                if assignment_id and "/" not in assignment_id:
                    return route, {"assignment_id": assignment_id}
        return None, None

    def _serve(self, request, route, kwargs):
        meta = request.META
        if (
            meta.get("QUERY_STRING")
            or meta.get("CONTENT_TYPE") != JSONBodyParser.media_type
            or meta.get("HTTP_ACCEPT") not in _ACCEPTS
        ):
            return None
        try:
            for hook in self._request_hooks:
                if hook(request) is not None:
                    return None
            for hook in self._view_hooks:
                if hook(request, route.callback, (), kwargs) is not None:
                    return None
        except Exception:  # e.g. a disallowed host: the chain raises it again, and answers
            return None
        caller = request_caller(request, route.authenticators)
        if caller is None:
            return None
        try:
            body = request.body  # may raise: too large, or the client went away
            if not body:
                return None
            data = decode_json(body, request.encoding or settings.DEFAULT_CHARSET)
            status, payload = route.work(
                caller, functools.partial(_authenticate, caller, route), data, **kwargs
            )
        except _USUAL_WAY:
            return None
        response = HttpResponse(
            route.renderer.render(payload), status=status, content_type=route.renderer.media_type
        )
        for name, value in route.headers.items():
            response[name] = value
        if caller.kind == "session":
            request.session.accessed = True  # as the usual session check leaves it
        for hook in self._response_hooks:
            response = hook(request, response)
        return response


def _authenticate(caller, route, row):
    """The statement's caller row as the annotator the view would act for; `_UsualWay` when
    the usual path would refuse (the statement then wrote nothing), or when the claim
    statement lost a race with another tab of the same account and returned no row at all.
    The hint is kept: the view's own in-statement attempt drops it if the caller is gone
    (dropping it here would send the account's other tabs the slow way meanwhile)."""
    user = None if row is None else active_user(row)
    if user is None:
        raise _UsualWay
    as_request = types.SimpleNamespace(user=user)
    if not all(p.has_permission(as_request, None) for p in route.permissions):
        raise _UsualWay
    return user


def _never_called(request):  # the rest of the chain, for the hooks' own instances
    raise AssertionError("the hot path calls middleware hooks only")
