"""`manage.py simulate_batch NAME`: fill the database with a realistic simulated batch."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotation_server.core.exceptions import ApplicationError
from annotation_server.quality.simulation import batch_simulate


class Command(BaseCommand):
    help = (
        "Create a published batch with simulated annotators (one or more random clickers) "
        "and their annotations, for demos, dashboard screenshots and benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--prompts", type=int, default=60, help="2 pairs per prompt")
        parser.add_argument("--annotators", type=int, default=6)
        parser.add_argument("--clickers", type=int, default=1)
        parser.add_argument("--overlap", type=int, default=3)
        parser.add_argument("--gold-pairs", type=int, default=6)
        parser.add_argument("--hours", type=int, default=30, help="spread work over this span")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **o):
        try:
            result = batch_simulate(
                name=o["name"],
                prompts=o["prompts"],
                annotators=o["annotators"],
                clickers=o["clickers"],
                overlap=o["overlap"],
                gold_pairs=o["gold_pairs"],
                hours=o["hours"],
                seed=o["seed"],
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Batch {result.batch.name}: {result.pairs} pairs, "
            f"{result.annotations} annotations by {len(result.annotators)} "
            f"simulated annotators ({', '.join(result.annotators)})."
        )
