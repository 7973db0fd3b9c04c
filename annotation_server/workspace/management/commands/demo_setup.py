"""`manage.py demo_setup`: a published demo batch and demo log-ins (idempotent)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotation_server.accounts import demo
from annotation_server.batches.lifecycle import batch_publish
from annotation_server.batches.models import Batch
from annotation_server.batches.services import BatchImportError, batch_import
from annotation_server.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Generate demo clips with ffmpeg, import them as batch 'demo', publish it and "
        "create demo accounts. Safe to re-run: nothing is duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            type=Path,
            default=settings.BASE_DIR / "var" / "demo",
            help="Where the clips and manifest go (default var/demo).",
        )
        parser.add_argument("--size", default="320x240", help="Clip size (default 320x240).")
        parser.add_argument(
            "--seconds", default="2,3,4", help="Clip lengths to cycle through (default 2,3,4)."
        )
        parser.add_argument("--url", default=None, help="The URL to print.")

    def handle(self, *args, dir, size, seconds, url, **options):
        try:
            batch = Batch.objects.filter(name=demo.DEMO_BATCH).first()
            if batch is None:
                batch = self._import(dir, size, seconds)
            self._publish(batch)
            accounts = demo.demo_accounts_ensure()
        except BatchImportError as exc:
            raise CommandError("\n".join([exc.message, *exc.errors["issues"]])) from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self._print(url, batch, accounts)

    def _import(self, folder: Path, size: str, seconds: str) -> Batch:
        lengths = tuple(float(s) for s in seconds.split(","))
        self.stderr.write(f"rendering demo clips into {folder} …")
        manifest = demo.demo_manifest_write(folder=folder, seconds=lengths, size=size)
        result = batch_import(
            path=manifest,
            name=demo.DEMO_BATCH,
            overlap=2,
            priority=0,
            instructions="A demo batch of generated test patterns.",
        )
        self.stderr.write(
            f"imported {result.pairs_created} pairs ({result.videos_created} new videos)"
        )
        result.batch.refresh_from_db()
        return result.batch

    def _publish(self, batch: Batch) -> None:
        batch.refresh_from_db()
        if batch.status == Batch.Status.PUBLISHED:
            return
        try:
            batch_publish(batch=batch, actor=None)
        except ApplicationError as exc:
            # With a broker and worker, transcoding runs in the background: say what to do.
            self.stderr.write(
                self.style.WARNING(
                    f"The demo batch is not published yet: {exc.message} Run demo_setup again "
                    "once the videos are ready."
                )
            )

    def _print(self, url, batch: Batch, accounts) -> None:
        batch.refresh_from_db()
        url = url or "http://{}:{}/".format(
            os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo batch {batch.name!r}: {batch.get_status_display().lower()}, "
                f"{batch.pairs.count()} pairs."
            )
        )
        self.stdout.write(f"Open {url}  (admin: {url}admin/)")
        self.stdout.write("Log-ins:")
        for account, created in accounts:
            note = "" if created else "  (unless changed since the first run)"
            self.stdout.write(
                f"  {account.role:<10} {account.username:<11} {account.password}{note}"
            )
