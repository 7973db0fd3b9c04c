"""Reading a VHD11K release as published (no Django): annotation rows and their zip members.

A release folder holds `harmful_image_<N>_ann.csv` (or `.json`, a list of objects with the
same keys) beside `harmful_images_<N>.zip`, and/or `harmful_video_<N>_ann.csv|json`
beside `harmful_videos_<N>.zip`. Every row becomes one item with the release's own label
kept as an external annotation (source "vhd11k"); nothing is unzipped here.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .fields import ID_MAX
from .records import ImportIssue
from .vhd11k_text import (
    ARGUMENT_COLUMNS,
    PATH_COLUMNS,
    REQUIRED_COLUMNS,
    bare_file_name,
    decode_field,
    missing_to_none,
)
from .vhd11k_zip import MAX_MEMBER_BYTES, MAX_TOTAL_BYTES, ZipIndex, index_zip

SOURCE = "vhd11k"
MediaType = Literal["image", "video"]
DECISIONS = {"yes": True, "no": False, "error": None}
TABLE_PATH = Path(__file__).resolve().parent.parent / "taxonomies" / "vhd11k_harmful_types.json"
_TAXONOMY_KEYS = frozenset(
    category["key"]
    for category in json.loads((TABLE_PATH.parent / "vhd11k.json").read_text(encoding="utf-8"))[
        "categories"
    ]
)
_ANN = re.compile(r"^harmful_(image|video)_(\d+)_ann\.(csv|json)$", re.IGNORECASE)


@dataclass(frozen=True)
class Argument:
    role: Literal["affirmative", "negative"]
    round: int  # 0-based, as in the column names
    text: str | None  # None when the release wrote "None" (no argument that round)


@dataclass
class ExternalLabel:
    """The release's judgement of one item, kept apart from our workers' answers."""

    harmful: bool | None  # None for decision "error"
    decision: str  # as written
    harmful_type: str | None  # as written; None when missing
    category_keys: tuple[str, ...]  # via the phrase table; () when unmapped or not harmful
    mapped: bool  # the phrase is in the table with a decision
    arguments: list[Argument]
    critic: str | None
    raw: dict[str, str]
    source: str = SOURCE


@dataclass
class VHD11KItem:
    item_id: str  # the bare file name, unique within its media type
    media_type: MediaType
    zip_path: Path
    member: str  # the zip member's stored name (ZipInfo.filename)
    size: int  # declared uncompressed size
    label: ExternalLabel
    file: str
    line: int


@dataclass
class VHD11KRelease:
    items: list[VHD11KItem] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)  # any one refuses the import
    notes: list[ImportIssue] = field(default_factory=list)  # worth telling, not refusing
    fallback_rows: list[tuple[str, int]] = field(default_factory=list)  # read as ISO-8859-1
    zips: dict[MediaType, ZipIndex] = field(default_factory=dict)


@dataclass(frozen=True)
class AnnotationFile:
    media_type: MediaType
    path: Path
    zip_path: Path


def find_release_files(folder: Path) -> list[AnnotationFile]:
    """The annotation files of a release folder, image first; [] when it is not one."""
    found: dict[MediaType, Path] = {}
    for path in sorted(folder.iterdir()):
        match = _ANN.match(path.name)
        if match and path.is_file():
            kind: MediaType = match.group(1).lower()  # type: ignore[assignment]
            # CSV is what the hub publishes; JSON only when there is no CSV beside it.
            if kind not in found or path.suffix.lower() == ".csv":
                found[kind] = path
    files = []
    for kind in ("image", "video"):
        if kind in found:
            ann = found[kind]
            count = _ANN.match(ann.name).group(2)
            files.append(AnnotationFile(kind, ann, folder / f"harmful_{kind}s_{count}.zip"))
    return files


def release_zip_name(annotation_name: str) -> str | None:
    """The zip the release names beside an annotation file (`harmful_image_10000_ann.csv` →
    `harmful_images_10000.zip`), or None when the name is not a VHD11K annotation file."""
    match = _ANN.match(annotation_name)
    if match is None:
        return None
    return f"harmful_{match.group(1).lower()}s_{match.group(2)}.zip"


def is_release(folder: Path) -> bool:
    return folder.is_dir() and bool(find_release_files(folder))


def load_phrase_table(path: Path = TABLE_PATH) -> dict[str, tuple[str, ...] | None]:
    """The admin-editable harmfulType table: normalised phrase → keys (None: undecided)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        normalise_phrase(phrase): None if keys is None else tuple(keys)
        for phrase, keys in data["phrases"].items()
    }


def normalise_phrase(text: str) -> str:
    return " ".join(text.strip().rstrip(".").split()).lower()


def read_release(
    folder: Path,
    *,
    phrase_table: dict[str, tuple[str, ...] | None] | None = None,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> VHD11KRelease:
    """Read every annotation file of `folder` and find each row's member in its zip."""
    table = load_phrase_table() if phrase_table is None else phrase_table
    release = VHD11KRelease()
    files = find_release_files(folder)
    if not files:
        release.issues.append(
            ImportIssue(
                folder.name,
                0,
                "",
                "holds no VHD11K annotation file (harmful_image_<N>_ann.csv|json or "
                "harmful_video_<N>_ann.csv|json)",
            )
        )
    for ann in files:
        if not ann.zip_path.is_file():
            release.issues.append(
                ImportIssue(ann.path.name, 0, "", f"{ann.zip_path.name} is missing beside it")
            )
            continue
        index = index_zip(
            ann.zip_path, max_member_bytes=max_member_bytes, max_total_bytes=max_total_bytes
        )
        release.zips[ann.media_type] = index
        release.issues += index.issues
        _read_annotations(ann, index, table, release)
    release.issues += _item_id_issues(release.items)
    return release


def _item_id_issues(items: list[VHD11KItem]) -> list[ImportIssue]:
    """Item ids become catalog ids: short enough, and unique across images and videos."""
    issues: list[ImportIssue] = []
    seen: dict[str, VHD11KItem] = {}
    for item in items:
        column = PATH_COLUMNS[item.media_type]
        if len(item.item_id) > ID_MAX:
            message = f"the file name is longer than {ID_MAX} characters"
            issues.append(ImportIssue(item.file, item.line, column, message))
        elif (first := seen.setdefault(item.item_id, item)) is not item:
            message = f"{item.item_id} is named again at {first.file}:{first.line}"
            issues.append(ImportIssue(item.file, item.line, column, message))
    return issues


def _read_annotations(ann: AnnotationFile, index: ZipIndex, table, release: VHD11KRelease) -> None:
    display = ann.path.name
    rows = _json_rows if ann.path.suffix.lower() == ".json" else _csv_rows
    seen: dict[str, int] = {}
    used: set[str] = set()
    for line, row, fallback in rows(ann.path, display, release.issues):
        if fallback:
            release.fallback_rows.append((display, line))
            release.notes.append(
                ImportIssue(
                    display,
                    line,
                    ", ".join(fallback),
                    "is not valid UTF-8; read as ISO-8859-1 (check the text reads right)",
                )
            )
        item = _item(ann, index, table, row, display, line, release.issues, seen)
        if item is not None:
            release.items.append(item)
            used.add(item.item_id)
    unused = len(set(index.by_name) - used)
    if unused:
        release.notes.append(
            ImportIssue(
                index.display, 0, "", f"{unused} file(s) have no row in {display}; not imported"
            )
        )


def _item(ann, index, table, row, display, line, issues, seen) -> VHD11KItem | None:
    def problem(column: str, message: str) -> None:
        issues.append(ImportIssue(display, line, column, message))

    column = PATH_COLUMNS[ann.media_type]
    other = PATH_COLUMNS["video" if ann.media_type == "image" else "image"]
    if column not in row and other in row:
        problem(other, f"a {ann.media_type} annotation file names its files in {column!r}")
        return None
    bad = [c for c, v in row.items() if isinstance(v, str) and "\x00" in v]
    for c in bad:
        problem(c, "must not contain NUL (\\u0000) characters")
    name = bare_file_name(row.get(column) or "")
    if not name:
        problem(column, "is empty; it must name a file in " + index.display)
        return None
    decision = (row.get("decision") or "").strip()
    if decision.lower() not in DECISIONS:
        problem("decision", f"is {decision!r}; it must be yes, no or error")
    if name in seen:
        problem(column, f"{name} already has a row at {display}:{seen[name]}")
        return None
    seen[name] = line
    info, reason = index.locate(name)
    if info is None:
        problem(column, reason)
    if bad or info is None or decision.lower() not in DECISIONS:
        return None
    return VHD11KItem(
        item_id=name,
        media_type=ann.media_type,
        zip_path=index.path,
        member=info.filename,
        size=info.file_size,
        label=_label(row, decision, table),
        file=display,
        line=line,
    )


def _label(row: dict[str, str], decision: str, table) -> ExternalLabel:
    harmful = DECISIONS[decision.lower()]
    harmful_type = missing_to_none(row.get("harmfulType"))
    keys = table.get(normalise_phrase(harmful_type)) if harmful_type else None
    if keys is None and harmful_type:
        keys = _category_keys(harmful_type)
    arguments = [
        Argument(role, round_, missing_to_none(row.get(column)))
        for role, round_, column in ARGUMENT_COLUMNS
    ]
    return ExternalLabel(
        harmful=harmful,
        decision=decision,
        harmful_type=harmful_type,
        category_keys=tuple(keys or ()) if harmful else (),
        mapped=keys is not None,
        arguments=arguments,
        critic=missing_to_none(row.get("critic")),
        raw=dict(row),
    )


def _category_keys(harmful_type: str) -> tuple[str, ...] | None:
    """The keys a harmfulType names when it is a comma-separated list of the vhd11k
    taxonomy's own keys (what `export_safesora --kind vhd11k` writes); None otherwise."""
    parts = tuple(part.strip() for part in harmful_type.split(","))
    return parts if all(part in _TAXONOMY_KEYS for part in parts) else None


def _header_issues(columns, display, issues) -> bool:
    names = set(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if not names & set(PATH_COLUMNS.values()):
        missing.insert(0, "imagePath or videoPath")
    for column in missing:
        issues.append(ImportIssue(display, 1, column, "column is missing"))
    return not missing


def _csv_rows(path: Path, display: str, issues: list[ImportIssue]):
    """(line where the row starts, row, columns read as ISO-8859-1) for each data row.

    The file is opened as ISO-8859-1, which maps every byte to one character, so the
    CSV structure parses whatever the encoding; each field's bytes are then decoded as
    UTF-8 first, and only the fields that are not UTF-8 stay ISO-8859-1.
    """
    with open(path, encoding="iso-8859-1", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            issues.append(ImportIssue(display, 0, "", "is empty; expected a header row"))
            return
        except csv.Error as exc:
            issues.append(ImportIssue(display, 1, "", f"is not valid CSV ({exc})"))
            return
        columns = [decode_field(c)[0] for c in header]
        if columns:
            columns[0] = columns[0].removeprefix("\ufeff")
        if not _header_issues(columns, display, issues):
            return
        start = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                issues.append(ImportIssue(display, start, "", f"is not valid CSV ({exc})"))
                return
            line, start = start, reader.line_num + 1
            if not fields:
                continue
            if len(fields) != len(columns):
                issues.append(
                    ImportIssue(
                        display,
                        line,
                        "",
                        f"has {len(fields)} fields; the header has {len(columns)}",
                    )
                )
                continue
            row: dict[str, str] = {}
            fallback = []
            for column, raw in zip(columns, fields, strict=True):
                row[column], ok = decode_field(raw)
                if not ok:
                    fallback.append(column)
            yield line, row, fallback


def _json_rows(path: Path, display: str, issues: list[ImportIssue]):
    """As `_csv_rows` for a JSON list of objects; the "line" is the object's 1-based position.

    A file that is UTF-8 as a whole is read as such; otherwise each string is decoded
    as in the CSV reader.
    """
    raw = path.read_bytes()
    try:
        text, per_field = raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        text, per_field = raw.decode("iso-8859-1"), True
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        issues.append(ImportIssue(display, exc.lineno, "", f"is not valid JSON ({exc.msg})"))
        return
    if not isinstance(data, list):
        issues.append(ImportIssue(display, 0, "", "must be a JSON list of objects"))
        return
    header_checked = False
    for position, obj in enumerate(data, 1):
        if not isinstance(obj, dict):
            issues.append(ImportIssue(display, position, "", "must be an object"))
            continue
        if not header_checked:
            header_checked = True
            if not _header_issues(obj.keys(), display, issues):
                return
        row: dict[str, str] = {}
        fallback = []
        for key, value in obj.items():
            column = decode_field(key)[0] if per_field else key
            if value is None:
                row[column] = "None"
            elif isinstance(value, str):
                row[column], ok = decode_field(value) if per_field else (value, True)
                if not ok:
                    fallback.append(column)
            else:
                issues.append(ImportIssue(display, position, column, "must be a string"))
        yield position, row, fallback
