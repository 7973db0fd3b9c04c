"""The Celery app: autodiscovers `tasks.py` in every app; queues `default` and `transcoding`."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")

app = Celery("annotation_server")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("transcoding"))
app.autodiscover_tasks()
