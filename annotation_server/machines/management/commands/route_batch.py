"""route_batch NAME [--annotator NAME@vN ...] [--audit 0.1] [--dry-run]: machines first,
humans only where the deciding versions disagree, are unsure, have no verdict, or the audit
draws the item."""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.machines.annotators import machine_annotator_get
from annotation_server.machines.models import BatchRouting
from annotation_server.machines.routing import batch_routing_set, outcome_text, route_batch

_SPEC = re.compile(r"^(?P<name>[^@]+?)(?:@v?(?P<version>\d+))?$")


class Command(BaseCommand):
    help = (
        "Route a classification batch: items its deciding machine annotator versions agree "
        "on are settled (no human judgement needed); the rest, and an audit share, go to humans."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("batch", help="the batch's name")
        parser.add_argument(
            "--annotator",
            action="append",
            metavar="NAME@vN",
            help="a deciding version (repeat for several; NAME alone: its newest version); "
            "replaces the routing's versions",
        )
        parser.add_argument("--audit", type=float, help="the audit share (default 0.1)")
        parser.add_argument(
            "--categories-must-agree",
            action="store_true",
            default=None,
            help="versions naming different categories disagree",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say what routing would do; change nothing"
        )

    def handle(self, *args, **options) -> None:
        batch = Batch.objects.filter(name=options["batch"]).first()
        if batch is None:
            raise CommandError(f"No batch named {options['batch']!r}.")
        if not options["annotator"] and not BatchRouting.objects.filter(batch=batch).exists():
            raise CommandError(
                f"Batch {batch.name!r} has no routing yet: name its deciding versions with "
                "--annotator NAME@vN."
            )
        try:
            with transaction.atomic():
                annotators = None
                if options["annotator"]:
                    annotators = [self._version(spec) for spec in options["annotator"]]
                routing = batch_routing_set(
                    batch,
                    annotators=annotators,
                    audit_share=options["audit"],
                    categories_must_agree=options["categories_must_agree"],
                )
                outcome = route_batch(batch, dry_run=options["dry_run"], by="route_batch")
                versions = ", ".join(str(v) for v in routing.annotators.order_by("name", "version"))
                if options["dry_run"]:
                    transaction.set_rollback(True)  # the routing's settings too
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Deciding: {versions}; audit share {routing.audit_share:.0%}")
        self.stdout.write(outcome_text(batch, outcome))

    @staticmethod
    def _version(spec: str):
        match = _SPEC.match(spec.strip())
        if match is None:
            raise ApplicationError(f"{spec!r} is not NAME or NAME@vN.")
        version = match["version"]
        return machine_annotator_get(match["name"], int(version) if version else None)
