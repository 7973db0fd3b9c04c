"""Plain data the importers produce: what a batch will contain, and what is wrong with it."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ImportIssue:
    """One problem, located as `file:line: field: message` (line 0 when the whole file)."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if not self.field:
            return f"{where}: {self.message}"
        return f"{where}: {self.field}: {self.message}"


@dataclass
class PromptRecord:
    prompt_id: str
    text: str
    prompt_type: str
    prompt_labels: dict[str, bool] | None
    file: str
    line: int


@dataclass
class VideoRecord:
    prompt_id: str
    video_id: str | None  # None until the file is hashed (the id then defaults to the sha256)
    video_text: str
    generated_from: str
    path: Path  # resolved, checked to stay inside the input's folder
    file: str
    line: int
    field: str  # e.g. "videos[2]" or "video_0", for error messages
    sha256: str = ""
    size: int = 0


@dataclass
class PairRecord:
    pair_id: str
    prompt_id: str
    video_0: str
    video_1: str
    file: str
    line: int


@dataclass
class ImportPlan:
    """Everything one input describes. `pairs is None` means: pair every two videos."""

    prompts: list[PromptRecord] = field(default_factory=list)
    videos: list[VideoRecord] = field(default_factory=list)
    pairs: list[PairRecord] | None = None
    issues: list[ImportIssue] = field(default_factory=list)
    # The judgements preference records carry (preference_answers.AnswerRecord), kept as
    # external annotations of the new pairs.
    answers: list = field(default_factory=list)

    def extend(self, other: ImportPlan) -> None:
        self.prompts += other.prompts
        self.videos += other.videos
        if other.pairs is not None:
            self.pairs = (self.pairs or []) + other.pairs
        self.issues += other.issues
        self.answers += other.answers


class ImportInvalid(Exception):
    """The input has problems; nothing was written. `issues` lists every one of them."""

    def __init__(self, issues: list[ImportIssue]):
        self.issues = issues
        super().__init__(f"{len(issues)} problem(s) in the import input")


class JsonText(str):
    """A JSON object serialized once, where it was read, and kept as its text: a release's
    records are kept whole (an external annotation's `details`), and 155,073 parsed records
    were most of an import's memory (docs/benchmarks.md, "Import with answers"). A `COPY`
    sends the text as it is; `value()` parses it for the plain `bulk_create`. `get` answers
    only the keys given aside when it was made (what a writer reads before storing it)."""

    def __new__(cls, text: str, **aside: Any) -> JsonText:
        made = super().__new__(cls, text)
        made.aside = aside
        return made

    def get(self, key: str, default: Any = None) -> Any:
        return self.aside.get(key, default)

    def value(self) -> Any:
        return json.loads(self)


def json_value(value: Any) -> Any:
    """`value` itself, or what a JsonText holds."""
    return value.value() if isinstance(value, JsonText) else value


# report(stage, done, total): told how far a long step has come (the admin's import jobs).
Report = Callable[[str, int, int], None]


def reported(items: Iterable[T], stage: str, total: int, report: Report | None) -> Iterator[T]:
    """Yield `items`, telling `report` how many have passed (nothing when it is None)."""
    if report is None:
        yield from items
        return
    report(stage, 0, total)
    for done, item in enumerate(items, 1):
        yield item
        report(stage, done, total)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading a release makes millions of objects that all stay alive until its rows are
    written (the plan keeps every record), so the cyclic collector scans them again and again
    and finds nothing to free: half the read's time at the release's size, and a fifth of
    storing and writing (tests/benchmarks/bench_import_answers.py). It waits until the block
    is done; reference counting still frees everything dropped meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
