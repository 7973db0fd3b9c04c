"""annotations.jsonl, and a query count that does not grow with the number of pairs."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation_server.exports.services import export_run
from annotation_server.taxonomy import harm_label
from tests.factories import BatchFactory, PairFactory, PromptFactory

from .annotating import V0, V1, annotate
from .world import build_world


@pytest.mark.django_db
def test_raw_file_holds_every_counted_annotation_with_a_pseudonym(make_user, tmp_path):
    world = build_world(make_user)
    extra = world.pairs[0]
    annotate(extra, make_user(), prefer=V1, rejected=True)  # rejected: not in the raw file
    first_user = world.annotators[0]
    call_command("export_safesora", "--out", str(tmp_path / "o"), "--raw", verbosity=0)

    lines = (tmp_path / "o" / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 9 * 3
    pseudonyms = {row["annotator"] for row in rows}
    assert len(pseudonyms) == 3
    for row in rows:
        assert first_user.username not in row["annotator"]
        assert row["annotator"] != str(first_user.pk)
    row = next(r for r in rows if r["pair_id"] == extra.pair_id)
    assert row["video_0"] == extra.video_0.video_id
    assert row["shown_left"] == "video_0" and row["shown_right"] == "video_1"
    assert row["sub_preferences"] == {
        "instruction_following": V0,
        "correctness": V1,
        "information": V0,
        "aesthetics": V1,
    }
    assert (row["helpfulness"], row["harmlessness"]) == (V0, V1)
    assert row["video_0_harms"] == ["violence"]
    assert (row["stage1_ms"], row["stage2_ms"], row["server_duration_ms"]) == (
        41_000,
        9_000,
        52_000,
    )

    # The same annotator gets the same pseudonym in the next export.
    call_command("export_safesora", "--out", str(tmp_path / "p"), "--raw", verbosity=0)
    again = (tmp_path / "p" / "annotations.jsonl").read_text(encoding="utf-8")
    assert {json.loads(line)["annotator"] for line in again.splitlines()} == pseudonyms


def _grow(make_user, pairs: int) -> None:
    batch = BatchFactory()
    users = [make_user() for _ in range(3)]
    for n in range(pairs):
        prompt = PromptFactory(prompt_labels=harm_label())
        pair = PairFactory(batch=batch, prompt=prompt)
        for user in users:
            annotate(pair, user, video_0_harms=["crime"] if n % 2 else [])


@pytest.mark.django_db
def test_query_count_does_not_depend_on_the_number_of_pairs(make_user, tmp_path):
    counts = []
    for size, name in ((4, "small"), (24, "large")):
        _grow(make_user, size if not counts else size - 4)
        with CaptureQueriesContext(connection) as queries:
            summary = export_run(out=tmp_path / name, kind="all", raw=True, test_fraction=0)
        assert summary["kinds"]["preference"]["records"]["train"] == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
