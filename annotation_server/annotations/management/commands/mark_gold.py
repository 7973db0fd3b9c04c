"""Mark pairs as gold with their expected answers (or make them regular again)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation_server.annotations.services import pair_mark_gold
from annotation_server.batches.models import Pair
from annotation_server.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Mark pairs of a batch as gold. --answers is a JSON file {pair_id: answer}; each answer "
        "uses video_0/video_1 terms (see annotation_server/annotations/answers.py). With "
        "--clear the listed pairs become regular pairs again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", required=True, help="Batch name.")
        parser.add_argument(
            "--answers",
            required=True,
            type=Path,
            help="JSON file mapping pair_id to its expected answer.",
        )
        parser.add_argument("--clear", action="store_true", help="Unmark the listed pairs instead.")

    def handle(self, *args, batch: str, answers: Path, clear: bool, **options):
        try:
            mapping = json.loads(answers.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {answers}: {exc}") from exc
        if not isinstance(mapping, dict) or not mapping:
            raise CommandError(f"{answers} must hold a non-empty JSON object {{pair_id: answer}}.")
        pairs = {
            p.pair_id: p for p in Pair.objects.filter(batch__name=batch, pair_id__in=list(mapping))
        }
        missing = sorted(set(mapping) - set(pairs))
        if missing:
            raise CommandError(f"No pair(s) {', '.join(missing[:10])} in batch {batch!r}.")
        try:
            # All or nothing: one bad answer leaves every pair as it was.
            with transaction.atomic():
                for pair_id, answer in mapping.items():
                    pair_mark_gold(pair=pairs[pair_id], answer=None if clear else answer)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        verb = "unmarked" if clear else "marked gold"
        self.stdout.write(self.style.SUCCESS(f"{len(mapping)} pair(s) {verb} in {batch}."))
