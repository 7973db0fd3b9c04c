"""The WSGI application: gunicorn runs it in production (deploy/entrypoint.sh), runserver in
development.

Loading it also imports every view (the URLconf), so no worker's first request pays for that,
and then moves everything loaded so far out of the cyclic garbage collector's way
(`gc.freeze()`): those ~100,000 objects — modules, classes, functions, settings — live as long
as the process, yet each full collection walked all of them, stopping every thread of the
process for ~110 ms a few times a minute under load (docs/architecture.md).
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotation_server.settings")
application = get_wsgi_application()


def _load_views_and_freeze() -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (the property imports every URLconf and view)
    gc.collect()
    gc.freeze()


_load_views_and_freeze()
