from django.urls import path

from annotation_server.accounts import apis, entry_views

urlpatterns = [
    path("entry/prolific/<str:token>/", entry_views.prolific_entry, name="entry-prolific"),
    path("entry/external/<str:token>/", entry_views.external_entry, name="entry-external"),
    path("entry/complete/", entry_views.entry_complete, name="entry-complete"),
    path("api/v1/auth/logout/", apis.LogoutApi.as_view(), name="api-logout"),
    path("api/v1/entry/status/", entry_views.EntryStatusApi.as_view(), name="api-entry-status"),
]
