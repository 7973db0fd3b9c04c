from django.urls import path

from annotation_server.machines import views

urlpatterns = [
    path(
        "dashboard/batches/<int:pk>/machines/",
        views.batch_machines,
        name="dashboard-batch-machines",
    ),
    path(
        "dashboard/batches/<int:pk>/machines/disagreements/",
        views.batch_machine_disagreements,
        name="dashboard-batch-machine-disagreements",
    ),
]
