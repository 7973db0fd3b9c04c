"""Malformed inputs: every problem named as file:line: field, exit non-zero, nothing written."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from annotation_server.batches.services import BatchImportError, batch_import
from annotation_server.catalog.models import Prompt

from .importing import (
    clip,
    copy_sample,
    db_counts,
    media,
    prompt_line,
    run_failing_import,
    run_import,
    stored_files,
    write_manifest,
)

__all__ = ["media"]


def _good(src, prompt_id="p1"):
    return prompt_line(
        prompt_id,
        [
            {
                "path": clip(src, f"{prompt_id}/a.mp4"),
                "video_id": f"{prompt_id}a",
                "generated_from": "A",
            },
            {
                "path": clip(src, f"{prompt_id}/b.mp4"),
                "video_id": f"{prompt_id}b",
                "generated_from": "B",
            },
        ],
    )


def _bad_line(case, src, tmp_path):
    ok = {"path": clip(src, "p2/ok.mp4"), "video_id": "ok", "generated_from": "A"}
    if case == "bad json":
        return '{"prompt_id": "p2", "videos": [', "JSON: not valid JSON"
    if case == "missing field":
        return prompt_line(
            "p2", [ok, {"path": clip(src, "p2/c.mp4")}]
        ), "videos[1].generated_from: is required"
    if case == "ill-typed field":
        return {
            **prompt_line("p2", [ok, {**ok, "video_id": "ok2"}]),
            "prompt_text": 5,
        }, "prompt_text: must be a string"
    if case == "traversal":
        (tmp_path / "outside.mp4").write_bytes(b"secret")
        return prompt_line(
            "p2", [ok, {"path": "../outside.mp4", "generated_from": "B"}]
        ), "videos[1].path: must not leave the manifest's folder"
    if case == "absolute path":
        return prompt_line(
            "p2", [ok, {"path": "/etc/passwd", "generated_from": "B"}]
        ), "videos[1].path: must be relative"
    if case == "symlink out":
        (tmp_path / "outside.mp4").write_bytes(b"secret")
        os.symlink(tmp_path / "outside.mp4", src / "p2" / "link.mp4")
        return prompt_line(
            "p2", [ok, {"path": "p2/link.mp4", "generated_from": "B"}]
        ), "videos[1].path: leaves the manifest's folder through a symlink"
    if case == "missing file":
        return prompt_line(
            "p2", [ok, {"path": "p2/nope.mp4", "generated_from": "B"}]
        ), "videos[1].path: file not found"
    if case == "not a regular file":
        (src / "p2" / "folder.mp4").mkdir()
        return prompt_line(
            "p2", [ok, {"path": "p2/folder.mp4", "generated_from": "B"}]
        ), "videos[1].path: not a regular file"
    if case == "duplicate id, other content":
        return prompt_line(
            "p2",
            [
                ok,
                {
                    "path": clip(src, "p2/other.mp4", b"other bytes"),
                    "video_id": "p1a",
                    "generated_from": "A",
                },
            ],
        ), "videos[1].video_id: video 'p1a' appears again with different"
    if case == "fewer than two videos":
        return prompt_line("p2", [ok]), "videos: prompt 'p2' has 1 distinct video(s)"
    if case == "unknown harm key":
        return prompt_line(
            "p2", [ok, {**ok, "video_id": "ok2"}], prompt_labels={"gore": True}
        ), "prompt_labels: unknown harm keys: gore"
    if case == "NUL in text":
        return {
            **prompt_line("p2", [ok, {**ok, "video_id": "ok2"}]),
            "prompt_text": "a\x00b",
        }, "prompt_text: must not contain NUL"
    if case == "unknown prompt type":
        return {
            **prompt_line("p2", [ok, {**ok, "video_id": "ok2"}]),
            "prompt_type": "spicy",
        }, "prompt_type: unknown prompt type 'spicy'"
    raise AssertionError(case)


CASES = [
    "bad json",
    "missing field",
    "ill-typed field",
    "traversal",
    "absolute path",
    "symlink out",
    "missing file",
    "not a regular file",
    "duplicate id, other content",
    "fewer than two videos",
    "unknown harm key",
    "unknown prompt type",
    "NUL in text",
]


@pytest.mark.parametrize("case", CASES)
def test_malformed_manifest_is_refused_with_line_and_field(db, tmp_path, media, case):
    src = tmp_path / "in"
    (src / "p2").mkdir(parents=True)
    bad, expected = _bad_line(case, src, tmp_path)
    manifest = write_manifest(src, [_good(src), bad, _good(src, "p3")])
    before = db_counts()

    errors = run_failing_import(manifest)

    assert f"manifest.jsonl:2: {expected}" in errors
    assert db_counts() == before
    assert stored_files(media) == []


def test_every_problem_is_reported_not_only_the_first(db, tmp_path, media):
    src = tmp_path / "in"
    (src / "p2").mkdir(parents=True)
    lines = [_good(src)]
    for case in ("bad json", "traversal", "missing file", "unknown harm key"):
        lines.append(_bad_line(case, src, tmp_path)[0])
    errors = run_failing_import(write_manifest(src, lines))
    for number in (2, 3, 4, 5):
        assert f"manifest.jsonl:{number}: " in errors
    assert db_counts() == (0, 0, 0, 0)


def test_conflict_with_an_earlier_batch_is_refused(db, tmp_path, media):
    src = tmp_path / "in"
    run_import(write_manifest(src, [_good(src)]), "first")
    before, files = db_counts(), stored_files(media)
    changed = {**_good(src), "prompt_text": "Another text for the same id"}
    other_src = tmp_path / "other"
    other = prompt_line(
        "p9",
        [
            {
                "path": clip(other_src, "x.mp4", b"different"),
                "video_id": "p1a",
                "generated_from": "A",
            },
            {"path": clip(other_src, "y.mp4"), "video_id": "p9y", "generated_from": "B"},
        ],
    )
    errors = run_failing_import(write_manifest(other_src, [changed, other]), "second")

    assert "manifest.jsonl:1: prompt_text: prompt 'p1' already exists with another" in errors
    assert "manifest.jsonl:2: videos[0].video_id: video 'p1a' already exists" in errors
    assert db_counts() == before and stored_files(media) == files


def test_taken_batch_name_and_bad_overlap_are_refused(db, tmp_path, media):
    src = tmp_path / "in"
    manifest = write_manifest(src, [_good(src)])
    run_import(manifest, "first")
    with pytest.raises(BatchImportError) as caught:
        batch_import(path=manifest, name="first", overlap=0)
    text = "\n".join(caught.value.errors["issues"])
    assert (
        "a batch named 'first' already exists" in text and "--overlap: must be at least 1" in text
    )


def test_unknown_input_type_and_missing_path(db, tmp_path, media):
    (tmp_path / "m.csv").write_text("prompt_id\n")
    assert "unknown input type" in run_failing_import(tmp_path / "m.csv")
    assert "no such file or folder" in run_failing_import(tmp_path / "nowhere.jsonl")


def test_safesora_config_errors_name_the_record_line(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora")
    records = json.loads(gzip.decompress((root / "config-train.json.gz").read_bytes()))
    del records[1]["video_1"]["generated_from"]
    records[2]["video_0"]["video_path"] = "../../etc/passwd"
    records[3]["video_0"]["prompt_labels"]["blood"] = True
    text = json.dumps(records, indent=4)
    (root / "config-train.json").write_text(text)
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line == "    {"]

    errors = run_failing_import(root / "config-train.json")

    assert f"config-train.json:{starts[1]}: video_1.generated_from: is required" in errors
    assert f"config-train.json:{starts[2]}: video_0.video_path: must not leave" in errors
    assert (
        f"config-train.json:{starts[3]}: video_0.prompt_labels: unknown harm keys: blood" in errors
    )
    assert db_counts() == (0, 0, 0, 0) and stored_files(media) == []


def test_safesora_config_with_broken_json_names_the_line(db, tmp_path, media):
    root = copy_sample(tmp_path, "safesora-label")
    text = gzip.decompress((root / "config-train.json.gz").read_bytes()).decode()
    lines = text.splitlines()
    assert lines[2].strip().startswith('"prompt_id"')
    lines[2] = lines[2].rstrip(",")  # drop the comma after the first record's prompt_id
    (root / "config-train.json").write_text("\n".join(lines))
    errors = run_failing_import(root / "config-train.json")
    assert "config-train.json:4: JSON: not valid JSON" in errors
    assert Prompt.objects.count() == 0
