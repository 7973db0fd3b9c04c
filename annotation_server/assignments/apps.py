from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "annotation_server.assignments"
    label = "assignments"
    default_auto_field = "django.db.models.BigAutoField"
