"""The Celery app: autodiscovers `tasks.py` in every app; queues default, transcoding, machines."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")

app = Celery("annotation_server")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("transcoding"), Queue("machines"))
app.autodiscover_tasks()


def route_machine_runs(name, args, kwargs, options, task=None, **kw):
    """Machine runs are jobs of the one runner (core.jobs) but wait on remote endpoints for
    hours: on a queue of their own, imports and exports never queue behind them."""
    if name == "annotation_server.core.tasks.job_run_task" and args and args[0] == "machine_run":
        return {"queue": "machines"}
    return None
