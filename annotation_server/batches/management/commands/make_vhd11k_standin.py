"""`manage.py make_vhd11k_standin DEST [--images N] [--videos M] [--format csv|json]`."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation_server.catalog.importers.vhd11k_standin import write_standin


class Command(BaseCommand):
    help = (
        "Write a VHD11K-shaped release folder of generated stand-ins (images, ffmpeg clips, "
        "annotation files with the release's columns and quirks) for benchmarks and trials. "
        "--images 10000 --videos 1000 is the full release's shape."
    )

    def add_arguments(self, parser):
        parser.add_argument("dest", type=Path, help="Folder to write (created; must be empty).")
        parser.add_argument("--images", type=int, default=100, help="Images (default 100).")
        parser.add_argument("--videos", type=int, default=10, help="Videos (default 10).")
        parser.add_argument("--format", choices=("csv", "json"), default="csv", dest="fmt")
        parser.add_argument("--seed", type=int, default=0, help="Same seed, same bytes.")
        parser.add_argument("--workers", type=int, default=2, help="Image encoding threads.")

    def handle(self, *args, dest, images, videos, fmt, seed, workers, **options):
        if images < 0 or videos < 0 or images + videos == 0:
            raise CommandError("give --images and/or --videos as positive counts")
        if dest.exists() and any(dest.iterdir()):
            raise CommandError(f"{dest} is not empty; give a new folder")
        started = time.monotonic()
        summary = write_standin(
            dest, images=images, videos=videos, seed=seed, fmt=fmt, progress=True, workers=workers
        )
        for name, size in summary.files.items():
            self.stdout.write(f"  {name}  {size / 1e6:,.1f} MB")
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.images} image(s) and {summary.videos} video(s) in {dest} "
                f"({len(summary.latin1_rows)} row(s) stored as ISO-8859-1) "
                f"in {time.monotonic() - started:.1f} s"
            )
        )
