"""`manage.py new_round BATCH --name NEW (--agreement-below T | --disagrees-with SOURCE)`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.quality.rounds import batch_new_round


class Command(BaseCommand):
    help = (
        "Make a new batch of the items of BATCH where the crowd's agreement was below T, or "
        "where its majority disagrees with an external source (e.g. vhd11k)."
    )

    def add_arguments(self, parser):
        parser.add_argument("batch", help="name of the earlier batch")
        parser.add_argument("--name", required=True, help="name of the new batch")
        rule = parser.add_mutually_exclusive_group(required=True)
        rule.add_argument("--agreement-below", type=float, metavar="T", help="a share, 0–1")
        rule.add_argument("--disagrees-with", metavar="SOURCE", help="an external source")
        parser.add_argument("--overlap", type=int, help="annotators per item (default: as before)")

    def handle(self, *args, **options):
        batch = Batch.objects.filter(name=options["batch"]).first()
        if batch is None:
            raise CommandError(f"There is no batch named {options['batch']!r}.")
        try:
            new = batch_new_round(
                batch=batch,
                name=options["name"],
                agreement_below=options["agreement_below"],
                disagrees_with=options["disagrees_with"],
                overlap=options["overlap"],
            )
        except ApplicationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Batch {new.name!r}: {new.pairs.count()} item(s) of {batch.name!r} "
            f"({new.derived_rule}), status {new.status}; publish it with "
            f"`manage.py batch publish {new.name}`."
        )
