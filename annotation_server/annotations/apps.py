from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotation_server.annotations"
    label = "annotations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports (batches) store a release's own labels without importing this app.
        from annotation_server.annotations.services import external_labels_write
        from annotation_server.batches.services import external_labels_writer_register

        external_labels_writer_register(external_labels_write)
