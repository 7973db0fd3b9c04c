"""Log-in lockout with django-axes: the backend, the 429 answer, entry links, the audit event.

Axes counts failed log-ins per account and per client address (settings `AXES_*`); at the
limit it flags the request and `axes.middleware.AxesMiddleware` replaces the response with
`lockout_response`. Study links have no password: an unknown link counts as a failed log-in of
the worker id it names (`entry_credentials`), so guessing links is limited the same way.
Admins unlock in the admin (Axes › Access attempts: delete the rows; or the users' action
"Unlock log-in") or with `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`.
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from annotation_server.core.audit import audit_record

ENTRY_PREFIX = "/entry/"


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check, for every log-in that comes with a request (each HTTP path passes one).

    A log-in without a request is in-process code (a shell, a command, the test client's
    `login`) that no client can reach; axes' own backend refuses those with an error.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def retry_after_seconds(request) -> int:
    cool_off = get_cool_off(request)
    return max(1, int(cool_off.total_seconds())) if cool_off else 3600


def lockout_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return _(
        "Too many failed log-in attempts for this account or from this address. "
        "Please try again in %(minutes)d minute(s), or ask an administrator to unlock it."
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """The answer to a refused log-in (AXES_LOCKOUT_CALLABLE): 429 with Retry-After; JSON of
    the API's error shape under /api/, the log-in or study page with the message elsewhere."""
    seconds = retry_after_seconds(request)
    message = lockout_message(seconds)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "too_many_attempts"}, status=429)
    elif request.path.startswith(ENTRY_PREFIX):
        response = render(request, "accounts/entry_message.html", {"message": message}, status=429)
    else:
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        if not next_url and request.path.startswith("/admin/"):
            next_url = "/admin/"
        context = {"lockout_message": message, "next": next_url}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def entry_credentials(*, provider: str, external_id: str) -> dict:
    """What a study-link visit counts as, for the per-account limit."""
    return {"username": f"{provider}:{external_id}"[:150]}


def entry_allowed(request, credentials: dict) -> bool:
    """False while the worker id or the client address is locked out."""
    return AxesProxyHandler.is_allowed(request, credentials)


def entry_failed(request, credentials: dict) -> None:
    """Count an unknown study link as a failed log-in (axes flags the request at the limit)."""
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)


@receiver(user_locked_out, dispatch_uid="accounts.lockout.audit")
def _audit_lockout(sender, request, username, ip_address, **kwargs) -> None:
    # Axes signals again for every refused try while locked; the audit log records the lock.
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is not None and failures != get_failure_limit(request, request.axes_credentials):
        return
    user = get_user_model().objects.filter(username=username).first() if username else None
    audit_record(
        actor=None,
        verb="login.locked_out",
        target=user,
        target_type="login" if user is None else "",
        target_label=(username or "") if user is None else "",
        details={"ip_address": ip_address, "path": request.path, "failures": failures},
    )
