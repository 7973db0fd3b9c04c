from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "annotation_server.quality"
    label = "quality"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Figures refreshes are queued by task name (figures.py): the name is known in every
        # process.
        from annotation_server.quality import tasks  # noqa: F401
