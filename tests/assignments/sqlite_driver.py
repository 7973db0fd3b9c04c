"""Run by test_sqlite.py in a subprocess: 8 threads claim and submit on an SQLite database.

Prints one JSON line: annotations per pair, the overlap and any errors the threads hit.
"""

from __future__ import annotations

import json
import os
import sys
import threading

os.environ["DJANGO_SETTINGS_MODULE"] = "annotation_server.settings"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.db.models import Count  # noqa: E402

from annotation_server.annotations.models import Annotation  # noqa: E402
from annotation_server.annotations.services import annotation_submit  # noqa: E402
from annotation_server.assignments.claim import assignment_claim_next  # noqa: E402
from tests.assignments.workload import ANSWERS  # noqa: E402
from tests.factories import BatchFactory, PairFactory  # noqa: E402

THREADS, PAIRS, K = 8, 12, 3


def main() -> None:
    call_command("migrate", verbosity=0)
    batch = BatchFactory(overlap=K)
    pairs = [PairFactory(batch=batch) for _ in range(PAIRS)]
    users = [get_user_model().objects.create(username=f"sqlite{i}") for i in range(THREADS)]
    errors: list[str] = []

    def work(user) -> None:
        try:
            while (claimed := assignment_claim_next(annotator=user)) is not None:
                annotation_submit(annotator=user, assignment_id=claimed.pk, answers=ANSWERS)
        except Exception as exc:  # reported to the test
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_pair = dict(Annotation.objects.values_list("pair").annotate(n=Count("id")))
    counts = [per_pair.get(pair.pk, 0) for pair in pairs]
    print(
        json.dumps(
            {
                "vendor": connections["default"].vendor,
                "counts": counts,
                "k": K,
                "errors": errors,
            }
        )
    )


if __name__ == "__main__":
    main()
    sys.exit(0)
