from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "annotation_server.exports"
    label = "exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotation_server.batches.counted_sources import answer_counter_register
        from annotation_server.core.jobs import job_kind_register

        from .counted import batch_answer_counts, batch_external_sources
        from .jobs import EXPORT_JOB

        job_kind_register(EXPORT_JOB)
        # The exports count a counted source's answers as votes; the same reading gives
        # the pairs' credits, which batches (below this layer) sets.
        answer_counter_register(batch_answer_counts, batch_external_sources)
