"""batch_hints BATCH [--annotator NAME@vN] [--on | --off]: show (or stop showing) a machine
annotator version's verdict to the workers on a seeded half of a classification batch."""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError

from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.machines.annotators import machine_annotator_get
from annotation_server.machines.hints import batch_hints_set
from annotation_server.machines.routing_models import HintShown

_SPEC = re.compile(r"^(?P<name>[^@]+?)(?:@v?(?P<version>\d+))?$")


class Command(BaseCommand):
    help = (
        "Hints: show a machine annotator version's verdict to the workers on a seeded half "
        "of a classification batch's items (never gold items); the machines page measures "
        "the anchoring."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("batch", help="the batch's name")
        parser.add_argument(
            "--annotator", metavar="NAME@vN", help="whose verdict (NAME alone: its newest version)"
        )
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument("--on", dest="enabled", action="store_true", default=None)
        switch.add_argument("--off", dest="enabled", action="store_false")

    def handle(self, *args, **options) -> None:
        batch = Batch.objects.filter(name=options["batch"]).first()
        if batch is None:
            raise CommandError(f"No batch named {options['batch']!r}.")
        annotator = None
        if options["annotator"]:
            spec = _SPEC.match(options["annotator"])
            if spec is None:
                raise CommandError(f"Not a version: {options['annotator']!r} (NAME@vN).")
            version = spec.group("version")
            try:
                annotator = machine_annotator_get(
                    spec.group("name"), int(version) if version else None
                )
            except ApplicationError as error:
                raise CommandError(error.message) from error
        try:
            hints = batch_hints_set(batch, annotator=annotator, enabled=options["enabled"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        shown = HintShown.objects.filter(batch=batch).count()
        state = f"on, verdicts of {hints.annotator}" if hints.enabled else "off"
        self.stdout.write(f"Hints on {batch.name}: {state} ({shown} assignments shown one so far)")
