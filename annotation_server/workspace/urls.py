from django.urls import path

from . import audit, entry_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("work/", views.workspace, name="workspace"),
    path("work/task/", views.task, name="workspace-task"),
    path("dashboard/audit/", audit.audit_log, name="dashboard-audit"),
    path("entry/prolific/<str:token>/", entry_views.prolific_entry, name="entry-prolific"),
    path("entry/external/<str:token>/", entry_views.external_entry, name="entry-external"),
    path("entry/complete/", entry_views.entry_complete, name="entry-complete"),
    path("api/v1/entry/status/", entry_views.EntryStatusApi.as_view(), name="api-entry-status"),
]
