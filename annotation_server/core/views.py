from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from annotation_server.accounts import roles


@login_required
def home(request):
    """Send each role where it works: admins and reviewers to the dashboard, workers to the app."""
    if roles.is_reviewer(request.user):
        return redirect("dashboard")
    return redirect("admin:index") if request.user.is_staff else redirect("/work/")
