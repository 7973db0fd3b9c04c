"""The train/test split by prompt, and the all-or-nothing output folder."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from annotation_server.catalog.models import Prompt
from annotation_server.core.exceptions import ApplicationError
from annotation_server.exports.services import export_run
from annotation_server.taxonomy import harm_label

from .spec_reader import read_dataset
from .world import build_world


def _prompts(start: int, count: int) -> None:
    Prompt.objects.bulk_create(
        Prompt(
            prompt_id=f"split{n:05d}",
            text=f"prompt {n}",
            prompt_type="safety_neutral",
            prompt_labels=harm_label(),
        )
        for n in range(start, start + count)
    )


def _split_of_each(out) -> dict[str, str]:
    data = read_dataset(out, "eval")
    return {r["prompt_id"]: split for split, records in data.items() for r in records}


def _eval(out, *args: str) -> dict[str, str]:
    call_command("export_safesora", "--out", str(out), "--kind", "eval", *args, verbosity=0)
    return _split_of_each(out)


@pytest.mark.django_db
def test_split_is_by_prompt_and_deterministic_for_a_seed(tmp_path):
    _prompts(0, 200)
    first = _eval(tmp_path / "a", "--seed", "5", "--test-fraction", "0.25")
    again = _eval(tmp_path / "b", "--seed", "5", "--test-fraction", "0.25")
    other_seed = _eval(tmp_path / "c", "--seed", "6", "--test-fraction", "0.25")
    assert first == again
    assert (tmp_path / "a" / "config-test.json.gz").read_bytes() == (
        tmp_path / "b" / "config-test.json.gz"
    ).read_bytes()
    assert first != other_seed
    test_share = sum(split == "test" for split in first.values()) / len(first)
    assert 0.15 < test_share < 0.35


@pytest.mark.django_db
def test_prompts_keep_their_split_when_the_data_grows(tmp_path):
    _prompts(0, 100)
    before = _eval(tmp_path / "a", "--seed", "1", "--test-fraction", "0.3")
    _prompts(100, 100)
    after = _eval(tmp_path / "b", "--seed", "1", "--test-fraction", "0.3")
    assert {pid: after[pid] for pid in before} == before


@pytest.mark.django_db
def test_no_prompt_is_in_both_splits_of_a_pair_export(make_user, tmp_path):
    build_world(make_user)
    for seed in range(5):
        out = tmp_path / f"s{seed}"
        call_command(
            "export_safesora",
            "--out",
            str(out),
            "--seed",
            str(seed),
            "--test-fraction",
            "0.5",
            verbosity=0,
        )
        read_dataset(out, "preference")  # raises when a prompt is in both


@pytest.mark.django_db
def test_a_non_empty_out_is_refused_unless_forced(tmp_path):
    _prompts(0, 3)
    out = tmp_path / "dataset"
    _eval(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(CommandError, match="not empty.*--force"):
        call_command("export_safesora", "--out", str(out), "--kind", "eval", verbosity=0)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    _prompts(3, 2)
    call_command("export_safesora", "--out", str(out), "--kind", "eval", "--force", verbosity=0)
    # Five prompts and a test fraction of 0.1: no prompt falls in the test split.
    assert sorted(p.name for p in out.iterdir()) == ["config-train.json.gz"]
    assert len(_split_of_each(out)) == 5


@pytest.mark.django_db
def test_an_interrupted_export_leaves_nothing_that_looks_complete(make_user, tmp_path):
    build_world(make_user)
    out = tmp_path / "dataset"

    def interrupt(stage: str, done: int, total: int) -> None:
        # Ctrl-C while the second dataset of an `all` export is being written.
        if stage == "writing label":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_run(out=out, kind="all", progress=interrupt)
    assert list(tmp_path.iterdir()) == []  # neither --out nor a temporary folder remains


@pytest.mark.django_db
def test_bad_options_get_a_clear_message(tmp_path):
    cases = [
        (["--batch", "nope"], "No batch named 'nope'"),
        (["--tar"], "--tar packs the video files"),
        (["--test-fraction", "1.5"], "between 0 and 1"),
        (["--min-annotations", "0"], "at least 1"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=message):
            call_command("export_safesora", "--out", str(tmp_path / "x"), *args, verbosity=0)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ApplicationError):
        export_run(out=tmp_path / "y", kind="everything")
