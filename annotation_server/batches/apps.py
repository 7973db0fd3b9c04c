from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "annotation_server.batches"
    label = "batches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotation_server.catalog.signals import video_finished, videos_swept
        from annotation_server.core.jobs import job_kind_register

        from . import processing
        from .import_jobs import BATCH_IMPORT_JOB

        # A video's outcome moves its pairs and batches (the catalog does not know them).
        video_finished.connect(processing.video_finished_received, dispatch_uid="batches")
        videos_swept.connect(processing.videos_swept_received, dispatch_uid="batches")
        job_kind_register(BATCH_IMPORT_JOB)
