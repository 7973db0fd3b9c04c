from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from annotation_server.accounts import roles


@login_required
def home(request):
    """Send each role where it works: admins and reviewers to the admin, workers to the app."""
    if roles.is_reviewer(request.user):
        return redirect("admin:index")
    return redirect("admin:index") if request.user.is_staff else redirect("/work/")
