"""`manage.py import_batch PATH --name NAME [--overlap K] [--priority P] [--kind KIND]`."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation_server.batches.counted_sources import batch_source_count, batch_sources
from annotation_server.batches.import_common import external_labels_store
from annotation_server.batches.models import Pair
from annotation_server.batches.services import (
    SOURCE_NAME,
    SOURCE_RULE,
    BatchImportError,
    batch_import,
)
from annotation_server.catalog.importers.raw_annotations import RAW_FILE, raw_file, read_raw
from annotation_server.catalog.queueing import unqueued_message, videos_waiting_for_queue
from annotation_server.catalog.taxonomy_data import taxonomy_latest
from annotation_server.core.exceptions import ApplicationError

NOTES_SHOWN = 20  # rows read as ISO-8859-1 and the like: enough to check, not a flood


class Command(BaseCommand):
    help = (
        "Create a batch from a JSONL manifest (video paths relative to it), a SafeSora config "
        "(.json/.json.gz with videos/ beside it) or a SafeSora dataset folder; a classification "
        "batch from a VHD11K release folder (annotation CSV/JSON beside its zips, read in "
        "place). Everything is checked first; any problem is listed as file:line: field: "
        "message and nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", required=True, help="Name of the new batch (unique).")
        parser.add_argument(
            "--overlap", type=int, default=3, help="Annotators per pair (K, default 3)."
        )
        parser.add_argument(
            "--priority", type=int, default=0, help="Higher batches are served first (default 0)."
        )
        parser.add_argument("--instructions", default="", help="Text shown to annotators.")
        parser.add_argument(
            "--kind",
            choices=("pairwise", "classification"),
            default=None,
            help="The batch kind; by default told by the input (a VHD11K release: classification).",
        )
        parser.add_argument(
            "--answers-source",
            default=None,
            help="Source name under which the judgements a preference config carries are kept "
            "(external annotations, never our workers' answers). Default: safesora-release; "
            "for an export folder with annotations.jsonl (--raw), the source of its raw "
            "answers (default raw-export; the configs' majority records are then kept as "
            "export-majority).",
        )
        parser.add_argument(
            "--answers-count",
            action="store_true",
            help="The answers the input carries count as answers of the new batch: each pair "
            "is credited with min(overlap, its answers) and exports count them beside our "
            "workers'. Undo with `manage.py batch set NAME --uncount-source SOURCE`.",
        )
        parser.add_argument(
            "--in-place",
            action="store_true",
            help="Read the videos where they are instead of copying them into media storage; "
            "the input must lie inside MEDIA_ROOT/imports/ (itself a folder, a link or a mount "
            "point) and its files must stay there.",
        )
        parser.add_argument(
            "--no-transcode",
            action="store_true",
            help="Do not queue transcoding (benchmarks; videos stay pending).",
        )

    def handle(
        self, *args, path, name, overlap, priority, instructions, no_transcode, kind, **options
    ):
        raw_path = raw_file(path)
        raw = read_raw(raw_path) if raw_path else None
        if raw is not None and raw.issues:
            for issue in raw.issues:
                self.stderr.write(str(issue))
            raise CommandError(
                f"{RAW_FILE} was refused with {len(raw.issues)} problem(s); nothing was written."
            )
        given = options["answers_source"]
        answers_source = "export-majority" if raw else given or "safesora-release"
        raw_source = given or "raw-export"
        if raw is not None and not SOURCE_NAME.fullmatch(raw_source):
            raise CommandError(f"--answers-source: {SOURCE_RULE}.")
        try:
            # One transaction with the raw answers: a refusal of either writes nothing.
            with transaction.atomic():
                result = batch_import(
                    path=path,
                    name=name,
                    overlap=overlap,
                    priority=priority,
                    instructions=instructions,
                    enqueue_transcode=not no_transcode,
                    progress=True,
                    kind=kind,
                    answers_source=answers_source,
                    in_place=options["in_place"],
                )
                kept = self._raw_store(result.batch, raw, raw_source) if raw else None
        except BatchImportError as exc:
            for issue in exc.issues:
                self.stderr.write(str(issue))
            raise CommandError(exc.message) from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        unit = "item" if result.batch.kind == "classification" else "pair"
        self.stdout.write(
            self.style.SUCCESS(
                f"Batch {result.batch.name!r} ({result.batch.status}): "
                f"{result.prompts_created} new prompt(s), {result.prompts_reused} reused; "
                f"{result.videos_created} new video(s), {result.videos_reused} reused; "
                f"{result.pairs_created} {unit}(s); "
                f"{result.external_created} external annotation(s); "
                f"{result.files_copied} file(s) stored; "
                f"{len(result.transcodes_queued)} transcode(s) queued."
            )
        )
        if kept is not None:
            self.stdout.write(
                f"{RAW_FILE}: {kept['kept']} raw answer(s) kept as source {raw_source!r}; "
                f"{kept['outside']} of pairs not in the configs and {raw.machine_lines} "
                "machine line(s) left out."
            )
        if options.get("answers_count"):
            # The configs' majority records are made from the raw answers: only those count.
            self._count(result, [raw_source] if kept else None)
        for note in result.notes[:NOTES_SHOWN]:
            self.stderr.write(self.style.WARNING(str(note)))
        if len(result.notes) > NOTES_SHOWN:
            self.stderr.write(f"… and {len(result.notes) - NOTES_SHOWN} more note(s)")
        waiting = videos_waiting_for_queue(video_pks=result.transcodes_queued)
        if waiting:
            self.stderr.write(self.style.WARNING(unqueued_message(waiting)))

    def _raw_store(self, batch, raw, source: str) -> dict[str, int]:
        pks = dict(Pair.objects.filter(batch=batch, is_gold=False).values_list("pair_id", "pk"))
        labels = [
            (pks[a.pair_id], a.answer, _raw_details(a)) for a in raw.answers if a.pair_id in pks
        ]
        taxonomy = batch.taxonomy if batch.taxonomy_id else taxonomy_latest("safesora")
        keys = set(taxonomy.keys) if batch.taxonomy_id else None
        if keys is not None:
            wrong = [
                f"{RAW_FILE}:{a.line}: categories: keys the taxonomy lacks: "
                + ", ".join(sorted(set(a.answer.get("categories") or ()) - keys))
                for a in raw.answers
                if set(a.answer.get("categories") or ()) - keys
            ]
            if wrong:
                for line in wrong:
                    self.stderr.write(line)
                raise ApplicationError(
                    f"{RAW_FILE} was refused with {len(wrong)} problem(s); nothing was written."
                )
        kept = external_labels_store(batch, taxonomy, source, labels)
        return {"kept": kept, "outside": len(raw.answers) - len(labels)}

    def _count(self, result, sources: list[str] | None = None) -> None:
        # After the import's commit: the new batch is not published yet, so no claim can
        # see it before its credits are set.
        sources = sources or batch_sources(result.batch)
        if not sources:
            self.stderr.write(
                self.style.WARNING("--answers-count: the input carried no answers; none count.")
            )
            return
        for source in sources:
            try:
                counted = batch_source_count(batch=result.batch, source=source)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(
                f"Answers of {source!r} count: {counted['credited_pairs']} "
                f"{'item' if result.batch.kind == 'classification' else 'pair'}(s) credited "
                f"with {counted['credited_judgements']} judgement(s)."
            )


def _raw_details(answer) -> dict:
    # Every field of the line as written, and where it was read.
    return {"record": answer.details, "file": RAW_FILE, "line": answer.line,
            "source_annotator": answer.annotator}  # fmt: skip
