from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("work/", views.workspace, name="workspace"),
    path("work/task/", views.task, name="workspace-task"),
]
