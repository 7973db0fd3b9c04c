"""`manage.py simulate_batch NAME`: fill the database with a realistic simulated batch."""

from __future__ import annotations

import secrets
import time
from functools import partial

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation_server.core.exceptions import ApplicationError
from annotation_server.quality.simulation import WRITE_BATCH_SIZE, batch_simulate


class Command(BaseCommand):
    help = (
        "Create a published batch with simulated annotators (one or more random clickers) "
        "and their annotations, for demos, dashboard screenshots and benchmarks. "
        "SafeSora size: --prompts 25846 --annotators 200 --clickers 20."
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
        parser.add_argument(
            "--password", help="password of every simulated worker (default: a random one)"
        )
        parser.add_argument(
            "--batch-size", type=int, default=WRITE_BATCH_SIZE, help="rows per bulk statement"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, **o):
        password = o["password"] or secrets.token_urlsafe(9)
        bar = partial(tqdm, file=self.stderr, leave=False, disable=o["no_progress"])
        start = time.monotonic()
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
                password=password,
                batch_size=o["batch_size"],
                progress=bar,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        batch, names = result.batch, result.annotators
        careful = len(names) - result.clickers
        self.stdout.write(
            self.style.SUCCESS(
                f"Batch {batch.name!r} (id {batch.pk}, K={batch.overlap}): {result.pairs:,} "
                f"pairs, {result.videos:,} videos, {result.annotations:,} annotations by "
                f"{careful} annotators and {result.clickers} random clickers, "
                f"in {time.monotonic() - start:.0f} s."
            )
        )
        examples = [names[0]] + ([names[careful]] if result.clickers else [])
        self.stdout.write(
            f"Log in as {' or '.join(examples)} (like every simulated worker) with the "
            f"password {password}; names run {names[0]} … {names[-1]}."
        )
        self.stdout.write(f"Dashboard (reviewers and admins): /dashboard/batches/{batch.pk}/")
