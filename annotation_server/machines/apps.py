from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save


class MachinesConfig(AppConfig):
    name = "annotation_server.machines"
    label = "machines"
    verbose_name = "Machine annotators"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotation_server.assignments.hints import assignment_hint_provider_register
        from annotation_server.core.jobs import job_kind_register

        from .hints import assignment_hint, settings_cache
        from .routing_models import BatchHints
        from .runs import MACHINE_RUN_JOB

        job_kind_register(MACHINE_RUN_JOB)
        assignment_hint_provider_register(assignment_hint)

        def forget(**_signal) -> None:
            # Read again now and once the change is committed (a read in between sees the
            # old setting).
            settings_cache.forget()
            transaction.on_commit(settings_cache.forget)

        post_save.connect(forget, sender=BatchHints, weak=False, dispatch_uid="hints-forget")
        post_delete.connect(forget, sender=BatchHints, weak=False, dispatch_uid="hints-forget-d")
