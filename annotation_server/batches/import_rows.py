"""An import's rows written in batches: prompts, videos and pairs, BULK_SIZE rows per
statement, with the "writing rows" progress advanced per statement."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone
from tqdm import tqdm

from annotation_server.batches import pairing
from annotation_server.batches.import_checks import ExistingRows
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.importers import ImportPlan, VideoRecord
from annotation_server.catalog.importers.records import Report
from annotation_server.catalog.importers.storage import source_name
from annotation_server.catalog.models import Prompt, Video

# Rows per INSERT/UPDATE statement: the widest row (a video) has under 30 columns, so a
# statement stays far below PostgreSQL's 65,535 bind parameters.
BULK_SIZE = 1000


class RowProgress:
    """The "writing rows" stage, advanced per INSERT statement: a bar on the terminal (the
    command line) and/or the job's report (its row is written through a connection of its
    own, so the admin sees the count while the import's transaction is still open)."""

    STAGE = "writing rows"

    def __init__(self, *, progress: bool, report: Report | None):
        self.bar = tqdm(desc=self.STAGE, unit="row", disable=None if progress else True)
        self.report = report
        self.done = self.total = 0  # a disabled bar counts nothing

    def start(self, total: int) -> None:
        self.done, self.total = 0, total
        self.bar.reset(total=total)
        if self.report is not None:
            self.report(self.STAGE, 0, total)

    def advance(self, rows: int) -> None:
        self.done += rows
        self.bar.update(rows)
        if self.report is not None:
            self.report(self.STAGE, self.done, self.total)

    def __enter__(self) -> RowProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def prompts_insert(records: list, existing: ExistingRows, rows: RowProgress) -> dict[str, int]:
    prompt_pks = {p: row["id"] for p, row in existing.prompts.items()}
    new_prompts = [
        Prompt(
            prompt_id=p.prompt_id,
            text=p.text,
            prompt_type=p.prompt_type,
            prompt_labels=p.prompt_labels,
        )
        for p in records
    ]
    for prompt in bulk_create_in_batches(Prompt, new_prompts, rows):
        prompt_pks[prompt.prompt_id] = prompt.pk
    if existing.label_updates:
        Prompt.objects.bulk_update(
            [Prompt(pk=pk, prompt_labels=labels) for pk, labels in existing.label_updates],
            ["prompt_labels"],
            batch_size=BULK_SIZE,
        )
    return prompt_pks


def videos_insert(
    records: list[VideoRecord],
    stored: dict[str, str],
    prompt_pks: dict[str, int],
    rows: RowProgress,
) -> list[Video]:
    now = timezone.now()
    return bulk_create_in_batches(
        Video,
        [
            Video(
                video_id=v.video_id,
                prompt_id=prompt_pks[v.prompt_id],
                video_text=v.video_text,
                generated_from=v.generated_from,
                source=stored[source_name(v)],
                sha256=v.sha256,
                source_size=v.size,
                status=Video.Status.PENDING,
                status_changed_at=now,
            )
            for v in records
        ],
        rows,
    )


def pair_specs(plan: ImportPlan) -> list[tuple[str, str, str, str]]:
    """(prompt_id, pair_id, video_0, video_1) of every pair the batch gets."""
    if plan.pairs is not None:
        return [(p.prompt_id, p.pair_id, p.video_0, p.video_1) for p in plan.pairs]
    return pairing.all_pairs_by_prompt((v.prompt_id, v.video_id) for v in plan.videos)


def pair_rows(
    specs: list[tuple[str, str, str, str]],
    batch: Batch,
    prompt_pks: dict[str, int],
    video_pks: dict[str, int],
    failed: set[int],
) -> list[Pair]:
    # A pair with a video that already failed transcoding is never handed out.
    return [
        Pair(
            batch=batch,
            prompt_id=prompt_pks[prompt_id],
            pair_id=pair_id,
            video_0_id=video_pks[v0],
            video_1_id=video_pks[v1],
            active=not ({video_pks[v0], video_pks[v1]} & failed),
        )
        for prompt_id, pair_id, v0, v1 in specs
    ]


def bulk_create_in_batches(model: Any, objs: list, rows: RowProgress) -> list:
    """INSERT `objs` BULK_SIZE rows per statement, advancing the progress per statement.
    On PostgreSQL the same rows go in with `COPY` (`rows_copy`)."""
    if connection.vendor == "postgresql" and rows_copy_enabled:
        return rows_copy(model, objs, rows)
    created = []
    for start in range(0, len(objs), BULK_SIZE):
        chunk = objs[start : start + BULK_SIZE]
        created += model.objects.bulk_create(chunk, batch_size=BULK_SIZE)
        rows.advance(len(chunk))
    return created


# Off only to compare the `COPY` with its meaning (tests/catalog/test_import_answers_copy.py).
rows_copy_enabled = True


def rows_copy(model: Any, objs: list, rows: RowProgress) -> list:
    """The rows `bulk_create` writes for `objs`, sent with `COPY`: each value is prepared
    by its field exactly as `bulk_create` prepares it (defaults, `auto_now_add`, JSON), and the
    ids are taken from the table's sequence first, so `objs` get their pks as `bulk_create`
    gives them; one `COPY` per BULK_SIZE rows, the progress advanced after each. Django's
    bulk insert passes each column as one array parameter that psycopg builds and escapes in
    Python: most of a release's write (docs/benchmarks.md). Constraint violations raise
    Django's IntegrityError, as `bulk_create` does."""
    if not objs:
        return objs
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    table, pk_column = meta.db_table, meta.pk.column
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in [pk_column, *(f.column for f in fields)])
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk_column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(objs), BULK_SIZE):
            chunk = objs[start : start + BULK_SIZE]
            # One COPY per chunk: the progress report may write through this connection
            # (a job run inside a transaction), which it cannot while a COPY is open.
            with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
                for obj, pk in zip(chunk, ids[start : start + BULK_SIZE], strict=True):
                    obj.pk = pk
                    values = (f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
                    copy.write_row([pk, *values])
            rows.advance(len(chunk))
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def media_items_insert(items: list, stored: dict, rows: RowProgress) -> list[Video]:
    """Video rows (videos and images) for release items without a prompt (VHD11K)."""
    now = timezone.now()
    return bulk_create_in_batches(
        Video,
        [
            Video(
                video_id=item.item_id,
                media_type=item.media_type,
                prompt=None,
                source=stored[item.item_id].name,
                sha256=stored[item.item_id].sha256,
                source_size=stored[item.item_id].size,
                status=Video.Status.PENDING,
                status_changed_at=now,
            )
            for item in items
        ],
        rows,
    )


def single_item_rows(items: list, batch: Batch, video_pks: dict[str, int], failed: set[int]):
    """One classification unit per item: `video_0` the item, no second video, no prompt."""
    return [
        Pair(
            batch=batch,
            prompt=None,
            pair_id=item.item_id,
            video_0_id=video_pks[item.item_id],
            video_1=None,
            active=video_pks[item.item_id] not in failed,
        )
        for item in items
    ]


def external_label(item) -> tuple[dict, dict]:
    """(answer, details) of a release item's own label, for an ExternalAnnotation.

    `categories` is None when the release's phrase maps to no decided category (unknown,
    or undecided in the phrase table): the categories are then not known, not empty.
    """
    label = item.label
    if label.harmful is None:
        categories = None
    elif label.harmful is False:
        categories = []
    else:
        categories = list(label.category_keys) if label.mapped else None
    answer = {"harmful": label.harmful, "categories": categories}
    details = {
        "decision": label.decision,
        "harmful_type": label.harmful_type,
        "categories_mapped": label.mapped,
        "arguments": [{"role": a.role, "round": a.round, "text": a.text} for a in label.arguments],
        "critic": label.critic,
        "row": label.raw,
        "file": item.file,
        "line": item.line,
    }
    return answer, details
