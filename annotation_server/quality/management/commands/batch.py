"""`manage.py batch publish|pause|resume|complete|archive|status|set|entry NAME` for campaigns."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from annotation_server.batches import lifecycle
from annotation_server.batches.counted_sources import batch_source_count, batch_source_uncount
from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.quality import selectors


class Command(BaseCommand):
    help = "Move a batch through its lifecycle, change its settings, or print its status."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for action in lifecycle.LIFECYCLE_ACTIONS:
            sub.add_parser(action, help=f"{action} the batch").add_argument("name")
        sub.add_parser("status", help="print progress and settings").add_argument("name")
        settings = sub.add_parser("set", help="change run settings")
        settings.add_argument("name")
        settings.add_argument("--priority", type=int)
        settings.add_argument("--overlap", type=int)
        settings.add_argument("--expiry-minutes", dest="assignment_expiry_minutes", type=int)
        settings.add_argument("--gold-rate", type=float)
        settings.add_argument("--must-watch", choices=["on", "off"])
        settings.add_argument("--blur", dest="blur_videos", choices=["on", "off"])
        settings.add_argument(
            "--groups", help="comma-separated annotator groups allowed; '' opens it to all"
        )
        settings.add_argument(
            "--count-source",
            action="append",
            default=[],
            metavar="SOURCE",
            help="external answers of SOURCE count as answers (pairs are credited with them)",
        )
        settings.add_argument(
            "--uncount-source",
            action="append",
            default=[],
            metavar="SOURCE",
            help="SOURCE's answers stop counting (credits back to what still counts)",
        )
        entry = sub.add_parser("entry", help="configure Prolific / external-id entry links")
        entry.add_argument("name")
        entry.add_argument("--pairs", type=int, help="pairs to submit before completion")
        entry.add_argument("--code", help="Prolific completion code")
        entry.add_argument("--url", help="completion URL (instead of Prolific's)")
        entry.add_argument("--disable", action="store_true")
        entry.add_argument("--rotate", action="store_true", help="new link token")

    def handle(self, *args, **options):
        name = options["name"]
        batch = Batch.objects.filter(name=name).first()
        if batch is None:
            known = ", ".join(Batch.objects.order_by("name").values_list("name", flat=True)[:20])
            raise CommandError(f"No batch named {name!r}. Known batches: {known or 'none'}.")
        action = options["action"]
        try:
            if action in lifecycle.LIFECYCLE_ACTIONS:
                lifecycle.LIFECYCLE_ACTIONS[action](batch=batch, actor=None)
                self.stdout.write(f"{batch.name}: {batch.status}")
            elif action == "set":
                self._set(batch, options)
            elif action == "entry":
                self._entry(batch, options)
            else:
                self._status(batch)
        except ApplicationError as error:
            raise CommandError(error.message) from None

    def _set(self, batch: Batch, options: dict) -> None:
        changes = {
            k: options[k]
            for k in (
                "priority",
                "overlap",
                "assignment_expiry_minutes",
                "gold_rate",
                "must_watch",
                "blur_videos",
            )
            if options.get(k) is not None
        }
        groups = None
        if options.get("groups") is not None:
            names = [n.strip() for n in options["groups"].split(",") if n.strip()]
            groups = list(Group.objects.filter(name__in=names))
            missing = sorted(set(names) - {g.name for g in groups})
            if missing:
                raise CommandError(f"No such group(s): {', '.join(missing)}.")
        counting = [(True, s) for s in options["count_source"]]
        counting += [(False, s) for s in options["uncount_source"]]
        if not changes and groups is None and not counting:
            raise CommandError("Nothing to change: give at least one option (see --help).")
        for count, source in counting:
            service = batch_source_count if count else batch_source_uncount
            result = service(batch=batch, source=source, actor=None)
            self.stdout.write(
                f"{source}: {'counts' if count else 'does not count'}; "
                f"{result['credited_pairs']} pair(s) credited with "
                f"{result['credited_judgements']} judgement(s) in all"
            )
        if not changes and groups is None:
            return
        batch.refresh_from_db()
        changed = lifecycle.batch_settings_update(
            batch=batch, actor=None, changes=changes, groups=groups
        )
        for field, (old, new) in changed.items():
            self.stdout.write(f"{field}: {old} -> {new}")
        if not changed:
            self.stdout.write("No change: the values were already set.")

    def _entry(self, batch: Batch, options: dict) -> None:
        lifecycle.batch_entry_configure(
            batch=batch,
            actor=None,
            enabled=not options["disable"],
            pairs_required=options["pairs"],
            completion_code=options["code"],
            completion_url=options["url"],
            rotate_token=options["rotate"],
        )
        state = "enabled" if batch.entry_enabled else "disabled"
        self.stdout.write(f"Entry links {state} ({batch.entry_pairs_required} pairs).")
        self.stdout.write(
            f"  Prolific: /entry/prolific/{batch.entry_token}/"
            "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}"
            "&SESSION_ID={{%SESSION_ID%}}"
        )
        self.stdout.write(f"  External: /entry/external/{batch.entry_token}/?worker_id=<id>")

    def _status(self, batch: Batch) -> None:
        [p] = selectors.batch_progress_list(batches=[batch])
        lines = [
            f"batch:        {batch.name}",
            f"status:       {batch.status}",
            f"priority:     {batch.priority}   overlap: {batch.overlap}   "
            f"gold rate: {batch.gold_rate:g}   expiry: {batch.assignment_expiry_minutes} min",
            f"progress:     {p.done}/{p.needed} judgements ({p.percent:.1f} %), "
            f"{p.complete_pairs}/{p.pairs} pairs complete",
            f"assignments:  {p.open_assignments} open, {p.expired_assignments} expired",
            f"annotations:  {p.annotations} ({p.gold_annotations} gold) by {p.annotators} "
            f"annotators, {p.last_day} in the last 24 h",
            f"reports:      {p.reports} unresolved",
            f"counted:      {', '.join(batch.counted_sources) or 'only our workers'}",
        ]
        self.stdout.write("\n".join(lines))
