"""Hugging Face dataset folders: typed features and Parquet shards, written as records stream.

Layout (what `datasets.load_dataset(folder)` reads, and what the Hub shows):

    README.md                                   dataset card; YAML: configs, features, splits
    data/train-00000-of-00001.parquet           one kind
    data/<kind>/train-00000-of-00001.parquet    `--kind all`: one config per kind

Each row is the SafeSora record of its kind, typed: `ClassLabel`s for the prompt type and
every preference (0 = video_0, 1 = video_1), HarmLabels kept as their 12 booleans plus the
present harms as a list of taxonomy `ClassLabel`s, sub-preferences as a struct, each video as
a `datasets.Video` ({bytes, path}). Inside a pair the videos leave out the prompt fields the
SafeSora record repeats there (the row has them once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, List, Value, Video

from annotation_server.core.jobs import Progress
from annotation_server.taxonomy import HARM_KEYS, PROMPT_TYPES, SUB_DIMENSION_KEYS

from .dataset import ITEMS, Judgements, Selection, VideoFile, item_count
from .files import rendition_bytes
from .safesora import HARM_LABEL_ORDER, SPLITS

SIDES = ("video_0", "video_1")
SIDE = ClassLabel(names=list(SIDES))
PROMPT_TYPE = ClassLabel(names=list(PROMPT_TYPES))
# Class ids follow the taxonomy's S1–S12 order: id k is category S(k+1).
HARM = ClassLabel(names=list(HARM_KEYS))
HARM_LABEL = {key: Value("bool") for key in HARM_LABEL_ORDER}
SKIP_FILE_MISSING = "video file missing"

# A row group holds at most this many rows or bytes of embedded video, a shard file this many
# bytes: the Hub's viewer and `datasets` stream row groups, and favour shards under ~500 MB.
ROWS_PER_GROUP = 10_000
GROUP_BYTES = 64 << 20
SHARD_BYTES = 500 << 20
_PROGRESS_EVERY = 500


def _prompt_features() -> dict[str, Any]:
    return {
        "prompt_id": Value("string"),
        "prompt_text": Value("string"),
        "prompt_type": PROMPT_TYPE,
        "prompt_labels": HARM_LABEL,
        "prompt_harms": List(HARM),
    }


def _video_features(*, labelled: bool) -> dict[str, Any]:
    features: dict[str, Any] = {
        "video_id": Value("string"),
        "video_text": Value("string"),
        "video_path": Value("string"),
        "video": Video(),
        "is_safe": Value("bool"),
    }
    if labelled:
        features["video_labels"] = HARM_LABEL
        features["video_harms"] = List(HARM)
    features["generated_from"] = Value("string")
    return features


FEATURES: dict[str, Features] = {
    "preference": Features(
        {
            "pair_id": Value("string"),
            **_prompt_features(),
            "video_0": _video_features(labelled=False),
            "video_1": _video_features(labelled=False),
            "helpfulness": SIDE,
            "harmlessness": SIDE,
            "sub_preferences": {key: SIDE for key in SUB_DIMENSION_KEYS},
        }
    ),
    "label": Features({**_prompt_features(), **_video_features(labelled=True)}),
    "eval": Features(_prompt_features()),
}

_SIDE_ID = {side: i for i, side in enumerate(SIDES)}
_PROMPT_TYPE_ID = {name: i for i, name in enumerate(PROMPT_TYPES)}
_HARM_IDS: dict[tuple[bool, ...], list[int]] = {}


def _harm_ids(label: dict[str, bool]) -> list[int]:
    values = tuple(label[key] for key in HARM_KEYS)
    ids = _HARM_IDS.get(values)
    if ids is None:
        ids = _HARM_IDS[values] = [i for i, present in enumerate(values) if present]
    return ids


Record = dict[str, Any]
Blobs = list[bytes | None]


def _array(type_: pa.DataType, values: list | pa.Array) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(values, type=type_)


def _struct(type_: pa.StructType, children: dict[str, list | pa.Array]) -> pa.StructArray:
    """A struct column from one list (or array) per field: no dict per row to build."""
    fields = [type_.field(i) for i in range(type_.num_fields)]
    arrays = [_array(f.type, children[f.name]) for f in fields]
    return pa.StructArray.from_arrays(arrays, fields=fields)


def _prompt_columns(
    schema: pa.Schema, records: list[Record], labels: list[dict[str, bool]]
) -> dict[str, pa.Array]:
    return {
        "prompt_id": pa.array([r["prompt_id"] for r in records], pa.string()),
        "prompt_text": pa.array([r["prompt_text"] for r in records], pa.string()),
        "prompt_type": _array(
            schema.field("prompt_type").type, [_PROMPT_TYPE_ID[r["prompt_type"]] for r in records]
        ),
        "prompt_labels": _array(schema.field("prompt_labels").type, labels),
        "prompt_harms": _array(schema.field("prompt_harms").type, [_harm_ids(x) for x in labels]),
    }


def _video_columns(
    type_: pa.StructType | pa.Schema,
    videos: list[Record],
    blobs: list[bytes | None],
    *,
    labelled: bool,
) -> dict[str, list | pa.Array]:
    paths = [v["video_path"] for v in videos]
    columns: dict[str, list | pa.Array] = {
        "video_id": [v["video_id"] for v in videos],
        "video_text": [v["video_text"] for v in videos],
        "video_path": paths,
        # The path names the file inside a SafeSora folder; with bytes the row stands alone.
        "video": _struct(type_.field("video").type, {"bytes": blobs, "path": paths}),
        "is_safe": [v["is_safe"] for v in videos],
        "generated_from": [v["generated_from"] for v in videos],
    }
    if labelled:
        labels = [v["video_labels"] for v in videos]
        columns["video_labels"] = _array(type_.field("video_labels").type, labels)
        columns["video_harms"] = [_harm_ids(x) for x in labels]
    return columns


def preference_columns(
    schema: pa.Schema, records: list[Record], blobs: list[Blobs]
) -> dict[str, pa.Array]:
    """The Parquet columns of VideoPairSamples (blobs: each pair's two videos' bytes, or
    None)."""
    columns: dict[str, pa.Array] = {"pair_id": pa.array([r["pair_id"] for r in records])}
    labels = [r["video_0"]["prompt_labels"] for r in records]
    columns.update(_prompt_columns(schema, records, labels))
    for i, side in enumerate(SIDES):
        type_ = schema.field(side).type
        videos = [r[side] for r in records]
        children = _video_columns(type_, videos, [b[i] for b in blobs], labelled=False)
        columns[side] = _struct(type_, children)
    side_type = schema.field("helpfulness").type
    for key in ("helpfulness", "harmlessness"):
        columns[key] = pa.array([_SIDE_ID[r[key]] for r in records], side_type)
    subs = {k: [_SIDE_ID[r["sub_preferences"][k]] for r in records] for k in SUB_DIMENSION_KEYS}
    columns["sub_preferences"] = _struct(schema.field("sub_preferences").type, subs)
    return columns


def label_columns(
    schema: pa.Schema, records: list[Record], blobs: list[Blobs]
) -> dict[str, pa.Array]:
    """The Parquet columns of labelled VideoSamples."""
    columns = _prompt_columns(schema, records, [r["prompt_labels"] for r in records])
    # The video's fields are the row's own here: the schema stands where a struct type would.
    videos = _video_columns(schema, records, [b[0] for b in blobs], labelled=True)
    columns.update({name: _array(schema.field(name).type, v) for name, v in videos.items()})
    return columns


def eval_columns(
    schema: pa.Schema, records: list[Record], blobs: list[Blobs]
) -> dict[str, pa.Array]:
    """The Parquet columns of PromptSamples."""
    return _prompt_columns(schema, records, [r["prompt_labels"] for r in records])


COLUMNS: dict[str, Callable[[pa.Schema, list[Record], list[Blobs]], dict[str, pa.Array]]] = {
    "preference": preference_columns,
    "label": label_columns,
    "eval": eval_columns,
}


class ShardWriter:
    """Records of one split → <folder>/<split>-NNNNN-of-MMMMM.parquet, bounded in memory:
    records wait in a list until a row group is full, then become Arrow columns; a shard
    closes once it holds SHARD_BYTES."""

    def __init__(self, folder: Path, split: str, kind: str) -> None:
        self.folder, self.split = folder, split
        self.schema = FEATURES[kind].arrow_schema
        self.count = 0
        self.num_bytes = 0  # uncompressed Arrow bytes, the figure the card's splits give
        self.paths: list[Path] = []
        self._columns = COLUMNS[kind]
        self._records: list[Record] = []
        self._blobs: list[Blobs] = []
        self._row_bytes = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, record: Record, blobs: Blobs, blob_bytes: int = 0) -> None:
        self._records.append(record)
        self._blobs.append(blobs)
        self._row_bytes += blob_bytes
        self.count += 1
        if len(self._records) >= ROWS_PER_GROUP or self._row_bytes >= GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._records:
            return
        columns = self._columns(self.schema, self._records, self._blobs)
        table = pa.Table.from_arrays([columns[n] for n in self.schema.names], schema=self.schema)
        self._records, self._blobs, self._row_bytes = [], [], 0
        self.num_bytes += table.nbytes
        if self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.paths.append(self.folder / f"{self.split}-{len(self.paths):05d}.parquet")
            self._writer = pq.ParquetWriter(self.paths[-1], self.schema)
        self._writer.write_table(table, row_group_size=len(table))
        if self.paths[-1].stat().st_size >= SHARD_BYTES:
            self._writer.close()
            self._writer = None

    def close(self) -> list[str]:
        """Writes what waits and names the shards <split>-NNNNN-of-MMMMM.parquet (the Hub's
        convention); returns their names relative to the folder."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
        total = len(self.paths)
        names = []
        for index, path in enumerate(self.paths):
            name = f"{self.split}-{index:05d}-of-{total:05d}.parquet"
            path.rename(path.with_name(name))
            names.append(name)
        return names


def write_kind(
    kind: str,
    root: Path,
    data: Path,
    selection: Selection,
    judgements: Judgements,
    *,
    videos: str,
    progress: Progress,
) -> dict[str, Any]:
    """Writes one kind's splits as Parquet shards under `data`; returns its summary (records,
    skipped, files relative to `root`, uncompressed bytes per split)."""
    writers = {split: ShardWriter(data, split, kind) for split in SPLITS}
    embed = videos == "embed" and kind != "eval"
    skipped: Counter[str] = Counter()
    total, done, embedded = item_count(kind, selection), 0, 0
    progress(f"writing {kind}", 0, total)
    for item in ITEMS[kind](selection, judgements):
        done += 1
        if done % _PROGRESS_EVERY == 0:
            progress(f"writing {kind}", done, total)
        if item.skip:
            skipped[item.skip] += 1
            continue
        blobs = _blobs(item.videos) if embed else [None, None]
        if blobs is None:
            skipped[SKIP_FILE_MISSING] += 1
            continue
        size = sum(len(blob) for blob in blobs if blob)
        embedded += len(item.videos) if embed else 0
        writers[item.split or "train"].write(item.record, blobs, size)
    progress(f"writing {kind}", done, total)
    files = {split: writer.close() for split, writer in writers.items()}
    return {
        "records": {split: writer.count for split, writer in writers.items()},
        "not_written": [split for split in SPLITS if not writers[split].count],
        "skipped": dict(sorted(skipped.items())),
        "videos": {"embedded": embedded},
        "files": {
            s: [(data / n).relative_to(root).as_posix() for n in ns] for s, ns in files.items()
        },
        "bytes": {split: writer.num_bytes for split, writer in writers.items()},
    }


def _blobs(videos: tuple[VideoFile, ...]) -> list[bytes | None] | None:
    """Each video's rendition bytes, or None when one is missing (the record is skipped)."""
    blobs: list[bytes | None] = []
    for video in videos:
        blob = rendition_bytes(video.rendition)
        if blob is None:
            return None
        blobs.append(blob)
    return blobs + [None] * (2 - len(blobs))
