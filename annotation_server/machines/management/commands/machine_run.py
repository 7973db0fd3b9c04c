"""machine_run BATCH ANNOTATOR [--version N] [--here] [--cancel]: start (or go on with) a
machine annotator's run over a classification batch and follow it with a progress bar."""

from __future__ import annotations

import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from tqdm import tqdm

from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import JobStatus, job_execute
from annotation_server.machines.annotators import machine_annotator_get
from annotation_server.machines.models import MachineRun
from annotation_server.machines.runs import KIND, machine_run_cancel, machine_run_start


class Command(BaseCommand):
    help = (
        "Run a machine annotator over a classification batch (on the machines queue, or "
        "here with --here) and show its progress; a finished run started again calls only "
        "for items without a verdict."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version is the annotator's version here, not Django's (its option gives way).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument("batch", help="the batch's name")
        parser.add_argument("annotator", help="the machine annotator's name")
        parser.add_argument("--version", type=int, help="that version (default: the newest)")
        parser.add_argument(
            "--here", action="store_true", help="run in this process instead of a worker"
        )
        parser.add_argument("--cancel", action="store_true", help="cancel the run")
        parser.add_argument("--no-wait", action="store_true", help="queue it and return")

    def handle(self, *args, **options) -> None:
        batch = Batch.objects.filter(name=options["batch"]).first()
        if batch is None:
            raise CommandError(f"No batch named {options['batch']!r}.")
        try:
            annotator = machine_annotator_get(options["annotator"], options["version"])
            if options["cancel"]:
                run = MachineRun.objects.filter(batch=batch, annotator=annotator).first()
                cancelled = run is not None and machine_run_cancel(run, by="machine_run")
                self.stdout.write("cancelled" if cancelled else "no unfinished run to cancel")
                return
            run = machine_run_start(batch=batch, annotator=annotator, queue=not options["here"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"{annotator} on {batch.name}: run {run.pk}")
        if options["no_wait"] and not options["here"]:
            return
        worker = None
        if options["here"]:
            worker = threading.Thread(target=self._execute, args=(run.pk,), daemon=True)
            worker.start()
        run = self._follow(run.pk, worker)
        self.stdout.write(
            f"{run.status}: {run.done} verdicts, {run.unparseable} unparseable, "
            f"{run.failed} failed; {run.requests} calls, {run.prompt_tokens} prompt + "
            f"{run.completion_tokens} completion tokens, about ${run.estimated_cost:.4f}"
        )
        if run.status == JobStatus.FAILED:
            raise CommandError(run.error)

    @staticmethod
    def _execute(run_pk: int) -> None:
        try:
            job_execute(KIND, run_pk)
        finally:
            connection.close()

    @staticmethod
    def _follow(run_pk: int, worker: threading.Thread | None) -> MachineRun:
        bar = tqdm(unit="item", dynamic_ncols=True)
        try:
            while True:
                close_old_connections()
                run = MachineRun.objects.get(pk=run_pk)
                bar.total = run.progress_total or None
                bar.n = run.progress_done
                bar.set_postfix(
                    unparseable=run.unparseable,
                    failed=run.failed,
                    tokens=run.prompt_tokens + run.completion_tokens,
                    cost=f"${run.estimated_cost:.4f}",
                    refresh=False,
                )
                bar.refresh()
                if run.finished or (worker is not None and not worker.is_alive()):
                    return run
                time.sleep(0.5)
        finally:
            bar.close()
