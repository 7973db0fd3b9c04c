from django.apps import AppConfig


class MachinesConfig(AppConfig):
    name = "annotation_server.machines"
    label = "machines"
    verbose_name = "Machine annotators"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotation_server.core.jobs import job_kind_register

        from .runs import MACHINE_RUN_JOB

        job_kind_register(MACHINE_RUN_JOB)
