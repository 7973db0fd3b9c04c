from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "annotation_server.core"
    label = "core"

    def ready(self) -> None:
        # checks registers the deploy checks; tasks makes the runner's task known by name in
        # every process (core/jobs/publish.py queues it by name).
        from annotation_server.core import checks, tasks  # noqa: F401
