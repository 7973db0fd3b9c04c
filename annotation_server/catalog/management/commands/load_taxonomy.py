"""`manage.py load_taxonomy FILE`: save a taxonomy definition (JSON or YAML) as a version."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation_server.catalog.taxonomy_data import taxonomy_read_file, taxonomy_save
from annotation_server.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Save a taxonomy from a .json/.yaml file: a new version when its categories differ "
        "from the newest one of that name, nothing when they are the same."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            taxonomy, new = taxonomy_save(taxonomy_read_file(file))
        except ApplicationError as error:
            raise CommandError(str(error)) from error
        verb = "saved as" if new else "unchanged: already"
        self.stdout.write(f"{file.name}: {verb} {taxonomy} ({len(taxonomy.categories)} categories)")
