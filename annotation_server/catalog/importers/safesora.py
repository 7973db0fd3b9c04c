"""Reading SafeSora configs: `VideoDataset` (SafeSora-Label) and `PairDataset` (SafeSora).

A config is a JSON list (plain or gzip) with its `videos/` folder beside it. Records keep
their line number (where the record starts) so every problem can be located in the file.
A `PairDataset` record's judgement comes along as an answer (preference_answers.py).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .fields import ID_MAX, PAIR_ID_MAX, FieldErrors, type_name
from .paths import resolve_inside
from .preference_answers import AnswerRecord, has_answer, preference_answer
from .records import (
    ImportIssue,
    ImportPlan,
    PairRecord,
    PromptRecord,
    VideoRecord,
    collector_paused,
)

_SPACE = re.compile(r"[ \t\n\r]*")
PROMPT_FIELDS = ("prompt_id", "prompt_text", "prompt_type", "prompt_labels")


class _JsonListError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def iter_json_list(text: str) -> Iterator[tuple[int, Any]]:
    """(line, element) for each element of a top-level JSON list, without losing positions."""
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text, 0).end()
    line = 1 + text.count("\n", 0, pos)
    if pos >= len(text) or text[pos] != "[":
        raise _JsonListError(line, "a SafeSora config must be a JSON list of records")
    pos = _SPACE.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    counted = 0
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            message = f"not valid JSON ({exc.msg} at column {exc.colno})"
            raise _JsonListError(exc.lineno, message) from None
        yield line, value
        pos = _SPACE.match(text, end).end()
        if text.startswith(",", pos):
            pos = _SPACE.match(text, pos + 1).end()
            continue
        if text.startswith("]", pos) and not text[pos + 1 :].strip():
            return
        line += text.count("\n", counted, pos)
        raise _JsonListError(line, "expected ',' or the end of the list after a record")


def read_config(path: Path, *, display: str | None = None) -> ImportPlan:
    """Prompts, videos and (for PairDataset records) pairs of one SafeSora config file."""
    display = display or path.name
    plan = ImportPlan()
    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
        del raw  # a released config is hundreds of MB: its bytes go before its records come
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        plan.issues.append(ImportIssue(display, 0, "", f"cannot read the config: {exc}"))
        return plan
    reader = _ConfigReader(plan, path.parent, display)
    try:
        with collector_paused():
            for line, record in iter_json_list(text):
                reader.record(line, record)
    except _JsonListError as exc:
        plan.issues.append(ImportIssue(display, exc.line, "JSON", exc.message))
    if not plan.videos and not plan.issues:
        plan.issues.append(ImportIssue(display, 0, "", "the config has no video records"))
    return plan


class _ConfigReader:
    def __init__(self, plan: ImportPlan, root: Path, display: str):
        self.plan, self.root, self.display = plan, root, display
        self.kind: str | None = None  # "video" or "pair", fixed by the first record
        # A release names each video in every pair record it is part of (and each pair once
        # per answer): every distinct path is resolved once, not once per mention.
        self.resolved: dict[str, tuple[Path | None, str | None]] = {}

    def record(self, line: int, record: object) -> None:
        if not isinstance(record, dict):
            self._issue(line, "record", f"must be an object, not {type_name(record)}")
            return
        kind = (
            "pair"
            if "video_0" in record or "video_1" in record
            else ("video" if "video_id" in record or "video_path" in record else "prompt")
        )
        if kind == "prompt":
            self._issue(
                line,
                "video_id",
                "a record without videos (a SafeSora-Eval prompt?) "
                "cannot make pairs; import VideoDataset or PairDataset configs",
            )
            return
        if self.kind is None:
            self.kind = kind
            if kind == "pair":
                self.plan.pairs = []
        elif kind != self.kind:
            self._issue(line, "record", f"is a {kind} record in a config of {self.kind} records")
            return
        errors = FieldErrors()
        if kind == "video":
            self._video(errors, line, record, "")
        else:
            self._pair(errors, line, record)
        for field, message in errors.items:
            self._issue(line, field, message)

    def _pair(self, errors: FieldErrors, line: int, record: dict) -> None:
        pair_id = errors.text(record, "pair_id", max_len=PAIR_ID_MAX)
        prompt_id = errors.text(record, "prompt_id", max_len=ID_MAX)
        ids = []
        for side in ("video_0", "video_1"):
            sample = record.get(side)
            if not isinstance(sample, dict):
                errors.add(
                    side,
                    "is required (a video record)"
                    if sample is None
                    else f"must be an object, not {type_name(sample)}",
                )
                continue
            sub = FieldErrors(prefix=f"{side}.")
            # A video sample may leave out the prompt fields the pair record already gives.
            inherited = {k: record[k] for k in PROMPT_FIELDS if k in record and k not in sample}
            video = self._video(sub, line, {**inherited, **sample}, side)
            errors.items += sub.items
            if video is not None and prompt_id and video.prompt_id != prompt_id:
                errors.add(
                    f"{side}.prompt_id",
                    f"is {video.prompt_id!r} but the pair's prompt_id is {prompt_id!r}",
                )
                continue
            ids.append(video.video_id if video else None)
        if len(ids) == 2 and ids[0] and ids[0] == ids[1]:
            errors.add("video_1.video_id", "a pair needs two different videos")
        elif pair_id and prompt_id and len(ids) == 2 and all(ids):
            self.plan.pairs.append(
                PairRecord(pair_id, prompt_id, ids[0], ids[1], self.display, line)
            )
            self._answer(errors, line, pair_id, record)

    def _answer(self, errors: FieldErrors, line: int, pair_id: str, record: dict) -> None:
        if not has_answer(record):
            return
        answer, problems = preference_answer(record)
        for where, message in problems:
            errors.add(where, message)
        if answer is not None:
            # Records on one line share it: the record's place in the file names its annotator.
            number = len(self.plan.answers) + 1
            details = {"record": record, "file": self.display, "line": line,
                       "source_annotator": f"{self.display} record {number}"}  # fmt: skip
            self.plan.answers.append(AnswerRecord(pair_id, answer, details, self.display, line))

    def _video(self, errors: FieldErrors, line: int, record: dict, where: str):
        prompt_id = errors.text(record, "prompt_id", max_len=ID_MAX)
        prompt_text = errors.text(record, "prompt_text")
        prompt_type = errors.prompt_type(record)
        _, labels = errors.harm_label(record, "prompt_labels")
        video_id = errors.text(record, "video_id", max_len=ID_MAX)
        video_text = errors.text(record, "video_text", required=False, default=prompt_text)
        generated_from = errors.text(record, "generated_from", max_len=ID_MAX)
        rel = errors.text(record, "video_path", required=False)
        if rel is None and prompt_id and video_id and "video_path" not in record:
            rel = f"videos/{prompt_id}/{video_id}.mp4"  # the loaders' fixed rule
        resolved = None
        if rel is not None:
            found = self.resolved.get(rel)
            if found is None:
                found = self.resolved[rel] = resolve_inside(self.root, rel)
            resolved, reason = found
            if reason:
                errors.add("video_path", reason.replace("manifest's", "config's"))
        if errors.items or None in (prompt_id, prompt_text, prompt_type, video_id, video_text):
            return None
        self.plan.prompts.append(
            PromptRecord(prompt_id, prompt_text, prompt_type, labels, self.display, line)
        )
        video = VideoRecord(
            prompt_id,
            video_id,
            video_text,
            generated_from,
            resolved,
            self.display,
            line,
            where or "record",
        )
        self.plan.videos.append(video)
        return video

    def _issue(self, line: int, field: str, message: str) -> None:
        self.plan.issues.append(ImportIssue(self.display, line, field, message))
