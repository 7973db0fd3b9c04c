from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "annotation_server.workspace"
    label = "workspace"
    verbose_name = "Worker app"
