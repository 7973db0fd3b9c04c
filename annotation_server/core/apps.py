from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "annotation_server.core"
    label = "core"

    def ready(self) -> None:
        from annotation_server.core import checks  # noqa: F401 - registers deploy checks
