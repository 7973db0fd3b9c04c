"""Entry links and completion for crowd workers (HTML), and their status as JSON for the app."""

from __future__ import annotations

import functools

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.accounts import lockout
from annotation_server.core.exceptions import ApplicationError, NotFoundError
from annotation_server.core.openapi import error_responses
from annotation_server.workspace import entry

WORK_URL = "/work/"


def _message(request, error: ApplicationError):
    return render(
        request, "accounts/entry_message.html", {"message": error.message}, status=error.status_code
    )


def _get_only(view):
    """Django's require_GET, answering other methods with the study page's message."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = _message(
                request,
                ApplicationError(
                    "Please open the study link in your browser.",
                    code="method_not_allowed",
                    status_code=405,
                ),
            )
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapper


def _enter(
    request,
    *,
    token: str,
    provider: str,
    external_id: str,
    study_id: str = "",
    session_id: str = "",
):
    # Guessing study links is guessing passwords: an unknown link counts as a failed log-in
    # of the worker id and the client address, and a locked one is refused before any lookup.
    credentials = lockout.entry_credentials(provider=provider, external_id=external_id)
    if not lockout.entry_allowed(request, credentials):
        return lockout.lockout_response(request)
    try:
        user, _batch = entry.external_worker_enter(
            token=token,
            provider=provider,
            external_id=external_id,
            study_id=study_id,
            session_id=session_id,
        )
    except NotFoundError as error:
        lockout.entry_failed(request, credentials)
        return _message(request, error)
    except ApplicationError as error:
        return _message(request, error)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    status = entry.entry_status(user=user)
    if status is not None and status.complete:
        return redirect("entry-complete")
    return redirect(WORK_URL)


@never_cache
@_get_only
def prolific_entry(request, token: str):
    """/entry/prolific/<token>/?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…"""
    q = request.GET
    return _enter(
        request,
        token=token,
        provider="prolific",
        external_id=q.get("PROLIFIC_PID", ""),
        study_id=q.get("STUDY_ID", ""),
        session_id=q.get("SESSION_ID", ""),
    )


@never_cache
@_get_only
def external_entry(request, token: str):
    """/entry/external/<token>/?worker_id=… (MTurk's workerId / assignmentId also accepted)."""
    q = request.GET
    return _enter(
        request,
        token=token,
        provider="external",
        external_id=q.get("worker_id") or q.get("workerId", ""),
        session_id=q.get("assignment_id") or q.get("assignmentId", ""),
    )


@never_cache
@_get_only
def entry_complete(request):
    """Send a finished worker to the platform's completion URL; otherwise say what is left."""
    if not request.user.is_authenticated:
        return _message(request, NotFoundError("Please open the study from its link first."))
    try:
        url = entry.external_worker_complete(user=request.user)
    except ApplicationError as error:
        return _message(request, error)
    return redirect(url)


class EntryStatusApi(APIView):
    """The entry worker's progress; `completion_url` appears once the quota is reached."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "EntryStatus",
                {
                    "batch": serializers.CharField(),
                    "submitted": serializers.IntegerField(),
                    "required": serializers.IntegerField(),
                    "complete": serializers.BooleanField(),
                    "completion_url": serializers.CharField(allow_null=True),
                    "finish_url": serializers.CharField(),
                },
            ),
            **error_responses(401, 403, 404),
        }
    )
    def get(self, request):
        status = entry.entry_status(user=request.user)
        if status is None:
            raise NotFoundError(
                "This account did not come through a study link.", code="not_entry_worker"
            )
        return Response({**status.__dict__, "finish_url": "/entry/complete/"})
