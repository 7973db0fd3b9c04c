"""machine_import BATCH NAME FILE.jsonl [--label L]: machine labels made elsewhere as
verdicts of machine annotator NAME (machines/imports.py has the format)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.machines.imports import machine_verdicts_import


class Command(BaseCommand):
    help = (
        "Import precomputed machine labels (JSONL: item, harmful, categories, and any other "
        "fields kept as details) as verdicts of source machine:NAME; the whole file is "
        "checked first and refused with every problem."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("batch", help="the classification batch's name")
        parser.add_argument("name", help="the machine annotator's name (source machine:NAME)")
        parser.add_argument("file", type=Path, help="a .jsonl file")
        parser.add_argument(
            "--label", default="imported", help="its version or run label (default: imported)"
        )

    def handle(self, *args, **options) -> None:
        batch = Batch.objects.filter(name=options["batch"]).select_related("taxonomy").first()
        if batch is None:
            raise CommandError(f"No batch named {options['batch']!r}.")
        try:
            counts = machine_verdicts_import(
                batch=batch, name=options["name"], label=options["label"], path=options["file"]
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"machine:{options['name']} {options['label']} on {batch.name}: "
            f"{counts['imported']} imported ({counts['unparseable']} unparseable in the file), "
            f"{counts['kept']} already there and kept"
        )
