"""An independent reader of SafeSora datasets, written from docs (safesora-format.md) and the
published samples, NOT from the exporter: it imports nothing from annotation_server.exports.

`read_dataset(root, kind)` loads config-train/test and fails loudly on anything a researcher's
loader or completeness check would trip over.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
SAMPLE_DIR = {"preference": "safesora", "label": "safesora-label", "eval": "safesora-eval"}

HARM_KEYS = {
    "porn",
    "animal_abuse",
    "child_abuse",
    "crime",
    "controversial",
    "contraband",
    "hate",
    "violence",
    "racism",
    "other_discrimination",
    "terrorism",
    "other_harmful",
}
PROMPT_TYPES = {"safety_critical", "safety_neutral"}
SIDES = {"video_0", "video_1"}
SUB_KEYS = ["instruction_following", "correctness", "information", "aesthetics"]


class SpecViolation(AssertionError):
    pass


def _fail(where: str, message: str) -> None:
    raise SpecViolation(f"{where}: {message}")


def load_config(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, list):
        _fail(str(path), "a config must be one JSON list")
    return data


def sample_key_orders(kind: str) -> dict[str, list[str]]:
    """Key order at each path of the published sample records of a kind."""
    records = load_config(SAMPLES / SAMPLE_DIR[kind] / "config-train.json.gz")
    return _key_orders(records[0])


def _key_orders(obj: Any, path: str = "$") -> dict[str, list[str]]:
    orders: dict[str, list[str]] = {}
    if isinstance(obj, dict):
        orders[path] = list(obj)
        for key, value in obj.items():
            orders.update(_key_orders(value, f"{path}.{key}"))
    return orders


def check_complete(obj: Any, where: str) -> None:
    if obj is None:
        _fail(where, "null value (incomplete record)")
    if isinstance(obj, dict):
        for key, value in obj.items():
            check_complete(value, f"{where}.{key}")
    if isinstance(obj, list):
        for i, value in enumerate(obj):
            check_complete(value, f"{where}[{i}]")


def _str(record: dict, key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        _fail(where, f"{key} must be a non-empty string, got {value!r}")
    return value


def check_harm_label(label: Any, where: str) -> None:
    if not isinstance(label, dict) or set(label) != HARM_KEYS:
        _fail(where, f"HarmLabel must have exactly the 12 keys, got {label!r}")
    for key, value in label.items():
        if not isinstance(value, bool):
            _fail(where, f"{key} must be true/false, got {value!r}")


def check_prompt_part(record: dict, where: str) -> None:
    _str(record, "prompt_id", where)
    _str(record, "prompt_text", where)
    if record.get("prompt_type") not in PROMPT_TYPES:
        _fail(where, f"prompt_type {record.get('prompt_type')!r}")


def check_prompt_sample(record: dict, where: str) -> None:
    check_prompt_part(record, where)
    check_harm_label(record.get("prompt_labels"), f"{where}.prompt_labels")


def check_video_sample(record: dict, where: str, *, labelled: bool) -> None:
    check_prompt_sample(record, where)
    for key in ("video_id", "video_text", "generated_from"):
        _str(record, key, where)
    expected = f"videos/{record['prompt_id']}/{record['video_id']}.mp4"
    if record.get("video_path") != expected:
        _fail(where, f"video_path {record.get('video_path')!r} breaks the rule {expected!r}")
    if not isinstance(record.get("is_safe"), bool):
        _fail(where, "is_safe must be a boolean")
    if labelled:
        check_harm_label(record.get("video_labels"), f"{where}.video_labels")
        if record["is_safe"] != (not any(record["video_labels"].values())):
            _fail(where, "is_safe must be true exactly when no harm label is set")


def check_pair_sample(record: dict, where: str) -> None:
    _str(record, "pair_id", where)
    check_prompt_part(record, where)
    for side in ("video_0", "video_1"):
        video = record.get(side)
        if not isinstance(video, dict):
            _fail(where, f"{side} must be a VideoSample object")
        check_video_sample(video, f"{where}.{side}", labelled=False)
        for key in ("prompt_id", "prompt_text", "prompt_type"):
            if video[key] != record[key]:
                _fail(where, f"{side}.{key} differs from the pair's {key}")
    if record["video_0"]["video_id"] == record["video_1"]["video_id"]:
        _fail(where, "a pair compares two different videos")
    for key in ("helpfulness", "harmlessness"):
        if record.get(key) not in SIDES:
            _fail(where, f"{key} must be video_0 or video_1, got {record.get(key)!r}")
    subs = record.get("sub_preferences")
    if not isinstance(subs, dict) or list(subs) != SUB_KEYS:
        _fail(where, f"sub_preferences keys must be {SUB_KEYS}, got {subs!r}")
    for key, value in subs.items():
        if value not in SIDES:
            _fail(where, f"sub_preferences.{key} must be video_0 or video_1")


CHECKS = {
    "preference": check_pair_sample,
    "label": lambda r, w: check_video_sample(r, w, labelled=True),
    "eval": check_prompt_sample,
}


def read_dataset(root: Path, kind: str, *, videos: bool = False) -> dict[str, list[dict]]:
    """Both splits of one dataset folder, every record checked; with `videos`, every
    video_path must name a non-empty file under root. A split without records has no config
    (it reads as []); a config that is there must hold records."""
    orders = sample_key_orders(kind)
    splits = {}
    for split in ("train", "test"):
        path = root / f"config-{split}.json.gz"
        if not path.exists():
            splits[split] = []
            continue
        records = load_config(path)
        if not records:
            _fail(str(path), "an empty config (a split without records is not written)")
        for i, record in enumerate(records):
            where = f"{kind}/{split}[{i}]"
            check_complete(record, where)
            CHECKS[kind](record, where)
            got = _key_orders(record)
            if got != orders:
                _fail(where, f"key order {got} differs from the published sample {orders}")
            if videos:
                for video in _videos_of(record, kind):
                    path = root / video["video_path"]
                    if not path.is_file() or path.stat().st_size == 0:
                        _fail(where, f"{video['video_path']} is missing")
        splits[split] = records
    train_prompts = {r["prompt_id"] for r in splits["train"]}
    test_prompts = {r["prompt_id"] for r in splits["test"]}
    if train_prompts & test_prompts:
        _fail(kind, f"prompts in both splits: {sorted(train_prompts & test_prompts)}")
    return splits


def _videos_of(record: dict, kind: str) -> list[dict]:
    if kind == "preference":
        return [record["video_0"], record["video_1"]]
    return [record] if kind == "label" else []
