from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "annotation_server.assignments"
    label = "assignments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotation_server.catalog.selectors import video_viewer_rule_register

        from .video_access import annotator_held_video

        video_viewer_rule_register(annotator_held_video)
