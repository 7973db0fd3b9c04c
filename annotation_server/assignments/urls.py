from django.urls import path

from annotation_server.assignments import apis

# Assignment ids are matched as plain strings and parsed by the views (JSON 404 when bad).
urlpatterns = [
    path("assignments/next/", apis.AssignmentNextApi.as_view(), name="assignment-next"),
    path(
        "assignments/<str:assignment_id>/",
        apis.AssignmentDetailApi.as_view(),
        name="assignment-detail",
    ),
    path(
        "assignments/<str:assignment_id>/skip/",
        apis.AssignmentSkipApi.as_view(),
        name="assignment-skip",
    ),
    path(
        "assignments/<str:assignment_id>/report/",
        apis.AssignmentReportApi.as_view(),
        name="assignment-report",
    ),
]
