from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "annotation_server.exports"
    label = "exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotation_server.core.jobs import job_kind_register

        from .jobs import EXPORT_JOB

        job_kind_register(EXPORT_JOB)
