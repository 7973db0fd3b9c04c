"""`manage.py export_safesora`: write SafeSora datasets (preference, label, eval) to a folder."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError
from annotation_server.exports.services import export_run


class Command(BaseCommand):
    help = (
        "Export annotated batches as SafeSora datasets (config-train/test.json.gz, videos/). "
        "Output goes to a temporary folder and is renamed to --out when complete. "
        "--format hf writes a Hugging Face dataset folder (Parquet shards, dataset card)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="Dataset folder to create.")
        parser.add_argument(
            "--kind",
            default="preference",
            choices=["preference", "label", "eval", "all", "vhd11k"],
            help="label of classification batches: SafeSora-Label configs from the workers' "
            "majority; vhd11k: a VHD11K-shaped release (annotation CSV and media zip) of "
            "classification batches.",
        )
        parser.add_argument(
            "--batch",
            nargs="+",
            default=[],
            metavar="NAME",
            help="Only these batches (default: every batch).",
        )
        parser.add_argument(
            "--test-fraction",
            type=float,
            default=0.1,
            help="Share of prompts in config-test (default 0.1).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the prompt split.")
        parser.add_argument(
            "--format",
            default="safesora",
            choices=["safesora", "hf"],
            help="safesora: config-*.json.gz (default); hf: a Hugging Face dataset folder.",
        )
        parser.add_argument(
            "--videos",
            default="none",
            choices=["copy", "link", "embed", "none"],
            help="Place renditions under videos/ (copy, link) or, with --format hf, embed their "
            "bytes in the Parquet rows (embed); default none.",
        )
        parser.add_argument("--tar", action="store_true", help="Also pack videos.tar.gz.")
        parser.add_argument(
            "--min-annotations",
            type=int,
            default=1,
            help="Skip pairs with fewer annotations (default 1).",
        )
        parser.add_argument(
            "--raw",
            action="store_true",
            help="Also write annotations.jsonl (every single annotation).",
        )
        parser.add_argument(
            "--arguments-from",
            metavar="machine:NAME[@vN]",
            help="With --kind vhd11k: write this machine debate's arguments into the argument "
            "columns of the items it judged (its newest version unless @vN).",
        )
        parser.add_argument(
            "--decision-from",
            metavar="machine:NAME[@vN]",
            help="With --kind vhd11k: write this machine's verdict into decision and "
            "harmfulType of the items it judged.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace --out when it holds an earlier export (and nothing else).",
        )

        parser.add_argument(
            "--push-to-hub",
            metavar="REPO",
            help="With --format hf: upload the folder to this Hugging Face dataset repository "
            "(needs HF_TOKEN or `hf auth login`).",
        )
        parser.add_argument(
            "--public",
            action="store_true",
            help="Create the --push-to-hub repository public (default private).",
        )
        parser.add_argument(
            "--license", help="Licence named in the dataset card (default cc-by-nc-4.0)."
        )

    def handle(self, *args, **options):
        push = options["push_to_hub"]
        if push and options["format"] != "hf":
            raise CommandError("--push-to-hub uploads a Hugging Face folder: add --format hf.")
        if push:
            # Before the export runs: a missing token should not cost a whole export.
            from huggingface_hub import get_token

            from annotation_server.exports.hub import NO_TOKEN

            if not get_token():
                raise CommandError(NO_TOKEN)
        bar = _Bar(disable=options["verbosity"] == 0)
        try:
            summary = export_run(
                out=options["out"],
                kind=options["kind"],
                batch_names=options["batch"],
                test_fraction=options["test_fraction"],
                seed=options["seed"],
                videos=options["videos"],
                tar=options["tar"],
                min_annotations=options["min_annotations"],
                raw=options["raw"],
                force=options["force"],
                progress=bar,
                format=options["format"],
                license=options["license"],
                arguments_from=options["arguments_from"],
                decision_from=options["decision_from"],
            )
            if push:
                from annotation_server.exports.hub import hub_push

                summary["pushed_to"] = hub_push(
                    folder=Path(summary["out"]), repo_id=push, private=not options["public"]
                )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        finally:
            bar.close()
        # Exports from a shell are audited too (no web user: the actor is the command line).
        audit_record(
            actor=None,
            verb="export.command",
            target_type="export",
            target_label=str(summary["out"]),
            details={
                "kind": options["kind"],
                "batches": options["batch"],
                "raw": options["raw"],
                "format": options["format"],
                "pushed_to": summary.get("pushed_to"),
            },
        )
        self.stdout.write(_summary_text(summary))
        if options["verbosity"] > 1:
            self.stdout.write(json.dumps(summary, indent=2))


class _Bar:
    """A tqdm bar per stage, fed by the service's progress callback."""

    def __init__(self, *, disable: bool) -> None:
        self.disable = disable
        self.bar: tqdm | None = None
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total or None, desc=stage, unit="rec", disable=self.disable)
        assert self.bar is not None
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _summary_text(summary: dict) -> str:
    lines = [f"Exported to {summary['out']}"]
    for kind, info in summary["kinds"].items():
        records = ", ".join(f"{count} {part}" for part, count in info["records"].items())
        lines.append(f"  {kind}: {records or 'no'} records")
        for split in info.get("not_written", ()):
            lines.append(f"    {split} split: no records, not written")
        videos = info["videos"]
        if videos.get("copied") or videos.get("linked"):
            lines.append(f"    videos: {videos['copied']} copied, {videos['linked']} linked")
        if videos.get("zipped"):
            lines.append(f"    media: {videos['zipped']} file(s) in the zips")
        if videos.get("embedded"):
            lines.append(f"    videos: {videos['embedded']} embedded in the Parquet rows")
        for reason, count in info["skipped"].items():
            lines.append(f"    skipped {count}: {reason}")
        if not info["skipped"]:
            lines.append("    nothing skipped")
    if "raw_annotations" in summary:
        lines.append(f"  annotations.jsonl: {summary['raw_annotations']} annotations")
    if "machine_annotations" in summary:
        lines.append(
            f"  machine_annotations.jsonl: {summary['machine_annotations']} machine verdicts"
        )
    if "pushed_to" in summary:
        lines.append(f"Pushed to {summary['pushed_to']}")
    return "\n".join(lines)
