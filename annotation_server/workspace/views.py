"""The worker app's pages: /work/ (workspace) and /work/task/ (the task page).

Both serve the same single-page app; it switches between them with the History API, so
moving from pair to pair never reloads the page.
"""

from __future__ import annotations

from functools import cache
from os.path import getmtime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from annotation_server.accounts import roles
from annotation_server.workspace.selectors import workspace_config

APP_JS = "worker/app.js"
APP_CSS = "worker/app.css"


@cache
def _asset_version() -> str | None:
    """A cache-busting token from the built bundle, or None when the app is not built."""
    path = finders.find(APP_JS)
    if not path:
        # Deployments may ship only the collected STATIC_ROOT (the manifest storage then
        # versions the names itself).
        return "collected" if staticfiles_storage.exists(APP_JS) else None
    css = finders.find(APP_CSS)
    return str(max(int(getmtime(path)), int(getmtime(css)) if css else 0))


def _page(request: HttpRequest, view: str) -> HttpResponse:
    if not roles.is_annotator(request.user):
        return render(request, "workspace/not_annotator.html", status=403)
    if settings.DEBUG:
        # Rebuilt bundles show up without a server restart while developing.
        _asset_version.cache_clear()
    version = _asset_version()
    if version is None:
        _asset_version.cache_clear()  # built later: noticed without a restart
    urls = {
        "api": "/api/v1/",
        "workspace": reverse("workspace"),
        "task": reverse("workspace-task"),
        "setlang": reverse("set_language"),
        "logout": reverse("logout"),
    }
    config = workspace_config(
        user=request.user,
        view=view,
        csrf_token=get_token(request),
        urls=urls,
        languages=settings.LANGUAGES,
    )
    context = {"config": config, "asset_version": version, "app_js": APP_JS, "app_css": APP_CSS}
    return render(request, "workspace/app.html", context)


@never_cache
@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    return _page(request, "workspace")


@never_cache
@login_required
def task(request: HttpRequest) -> HttpResponse:
    return _page(request, "task")


@login_required
def home(request):
    """Send each role where it works: admins and reviewers to the dashboard, workers to the app."""
    if roles.is_reviewer(request.user):
        return redirect("dashboard")
    return redirect("admin:index") if request.user.is_staff else redirect("workspace")
