"""Reading SafeSora configs: `VideoDataset` (SafeSora-Label) and `PairDataset` (SafeSora).

A config is a JSON list (plain or gzip) with its `videos/` folder beside it. Records keep
their line number (where the record starts) so every problem can be located in the file.
A `PairDataset` record's judgement comes along as an answer (preference_answers.py).
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import IO

from .fields import ID_MAX, PAIR_ID_MAX, FieldErrors, type_name
from .json_list import JsonListError, iter_json_stream
from .paths import resolve_inside
from .preference_answers import AnswerRecord, has_answer, preference_answer
from .records import (
    ImportIssue,
    ImportPlan,
    JsonText,
    PairRecord,
    PromptRecord,
    VideoRecord,
    collector_paused,
)

PROMPT_FIELDS = ("prompt_id", "prompt_text", "prompt_type", "prompt_labels")
# Compact separators: the records' text is what the import holds of them until the write.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def read_config(path: Path, *, display: str | None = None) -> ImportPlan:
    """Prompts, videos and (for PairDataset records) pairs of one SafeSora config file."""
    display = display or path.name
    plan = ImportPlan()
    reader = _ConfigReader(plan, path.parent, display)
    try:
        # Read in chunks from the (gunzipped) stream: the config's text is never held whole.
        with _open_text(path) as fh, collector_paused():
            for line, record in iter_json_stream(fh.read):
                reader.record(line, record)
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, zlib.error) as exc:
        plan.issues.append(ImportIssue(display, 0, "", f"cannot read the config: {exc}"))
        return plan
    except JsonListError as exc:
        plan.issues.append(ImportIssue(display, exc.line, "JSON", exc.message))
    if not plan.videos and not plan.issues:
        plan.issues.append(ImportIssue(display, 0, "", "the config has no video records"))
    return plan


def _open_text(path: Path) -> IO[str]:
    # newline="": lines are counted on "\n" alone, as JSON sees them.
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


class _ConfigReader:
    def __init__(self, plan: ImportPlan, root: Path, display: str):
        self.plan, self.root, self.display = plan, root, display
        self.kind: str | None = None  # "video" or "pair", fixed by the first record
        # A release names each video in every pair record it is part of (and each pair once
        # per answer): every distinct path is resolved once, not once per mention.
        self.resolved: dict[str, tuple[Path | None, str | None]] = {}
        # The first record of each prompt, video and pair: a repeat identical to it changes
        # nothing the merge (checks.merge_and_check) makes of them, so only differing ones
        # are kept for it to judge; a release repeats each about six times.
        self.first_prompts: dict[str, PromptRecord] = {}
        self.first_videos: dict[str, VideoRecord] = {}
        self.first_pairs: dict[str, PairRecord] = {}

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
            first = self.first_pairs.get(pair_id)
            if first is None or (first.prompt_id, first.video_0, first.video_1) != (
                prompt_id,
                *ids,
            ):
                pair = PairRecord(pair_id, prompt_id, ids[0], ids[1], self.display, line)
                self.plan.pairs.append(pair)
                self.first_pairs.setdefault(pair_id, pair)
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
            annotator = f"{self.display} record {number}"
            # Kept as text, the parsed record goes as soon as it is read.
            details = JsonText(
                f'{{"record":{_dumps(record)},"file":{_dumps(self.display)},"line":{line},'
                f'"source_annotator":{_dumps(annotator)}}}',
                source_annotator=annotator,
            )
            self.plan.answers.append(
                AnswerRecord(pair_id, JsonText(_dumps(answer)), details, self.display, line)
            )

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
        first_prompt = self.first_prompts.get(prompt_id)
        prompt_key = (prompt_text, prompt_type, labels)
        if first_prompt is None or _prompt_key(first_prompt) != prompt_key:
            prompt = PromptRecord(prompt_id, prompt_text, prompt_type, labels, self.display, line)
            self.plan.prompts.append(prompt)
            self.first_prompts.setdefault(prompt_id, prompt)
        first = self.first_videos.get(video_id)
        if first is not None and _video_key(first) == (
            prompt_id, video_text, generated_from, resolved
        ):  # fmt: skip
            return first
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
        self.first_videos.setdefault(video_id, video)
        return video

    def _issue(self, line: int, field: str, message: str) -> None:
        self.plan.issues.append(ImportIssue(self.display, line, field, message))


def _prompt_key(prompt: PromptRecord) -> tuple:
    return prompt.text, prompt.prompt_type, prompt.prompt_labels


def _video_key(video: VideoRecord) -> tuple:
    return video.prompt_id, video.video_text, video.generated_from, video.path
