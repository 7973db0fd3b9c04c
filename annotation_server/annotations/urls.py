from django.urls import path

from annotation_server.annotations import apis

urlpatterns = [
    path(
        "assignments/<str:assignment_id>/submit/",
        apis.AssignmentSubmitApi.as_view(),
        name="assignment-submit",
    ),
    path("me/", apis.MeApi.as_view(), name="api-me"),
]
