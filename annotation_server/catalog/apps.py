from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "annotation_server.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Videos are queued by task name (queueing.py): the name is known in every process.
        from annotation_server.catalog import tasks  # noqa: F401
