"""The streaming writer: published byte layout, and no incomplete record ever written."""

from __future__ import annotations

import gzip
import json

import pytest

from annotation_server.exports.writers import GzipJsonListWriter, IncompleteRecordError

RECORDS = [
    {"prompt_id": "p1", "prompt_text": "Ünïcode «quotes» \"escaped\"\nnew line\t中文",
     "nested": {"flag": True, "off": False, "list": [1, 2.5, "x", [], {}], "empty": {}}},
    {"prompt_id": "p2", "prompt_text": "", "nested": {"n": 0, "neg": -3}},
]  # fmt: skip


def test_streamed_file_equals_json_dumps_of_the_whole_list(tmp_path):
    path = tmp_path / "config.json.gz"
    with GzipJsonListWriter(path) as writer:
        for record in RECORDS:
            writer.write(record)
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert text == json.dumps(RECORDS, indent=4, ensure_ascii=False)
    assert writer.count == 2


def test_a_null_anywhere_is_refused_and_names_where(tmp_path):
    path = tmp_path / "config.json.gz"
    with GzipJsonListWriter(path) as writer:
        writer.write(RECORDS[0])
        bad = {"prompt_id": "p3", "video_0": {"prompt_labels": {"porn": None}}}
        with pytest.raises(IncompleteRecordError, match=r"\$\.video_0\.prompt_labels\.porn"):
            writer.write(bad)
    # The refused record left no trace: the file is still a valid list of the good one.
    assert json.loads(gzip.decompress(path.read_bytes())) == [RECORDS[0]]
