from django.urls import path

from annotation_server.quality import views

urlpatterns = [
    path("dashboard/", views.dashboard_home, name="dashboard"),
    path("dashboard/batches/<int:pk>/", views.dashboard_batch, name="dashboard-batch"),
    path(
        "dashboard/batches/<int:pk>/lifecycle/",
        views.batch_lifecycle,
        name="dashboard-batch-lifecycle",
    ),
    path(
        "dashboard/batches/<int:pk>/figures/",
        views.batch_figures_refresh,
        name="dashboard-batch-figures",
    ),
    path(
        "dashboard/batches/<int:pk>/new-round/",
        views.batch_new_round_view,
        name="dashboard-batch-new-round",
    ),
    path(
        "dashboard/batches/<int:pk>/annotations/",
        views.annotation_list,
        name="dashboard-annotations",
    ),
    path(
        "dashboard/batches/<int:pk>/annotators/<int:user_id>/review/",
        views.annotator_review,
        name="dashboard-annotator-review",
    ),
    path(
        "dashboard/annotations/<int:annotation_id>/",
        views.annotation_detail,
        name="dashboard-annotation",
    ),
]
