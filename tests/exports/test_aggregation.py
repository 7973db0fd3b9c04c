"""Majority, reliability tie-breaks, harm votes across pairs, and what is excluded."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from annotation_server.exports.aggregation import (
    AgreementTally,
    HarmTally,
    Reliability,
    Vote,
    decide_field,
    decide_pair,
)
from annotation_server.taxonomy import harm_label
from tests.factories import BatchFactory, PairFactory, PromptFactory

from .annotating import V0, V1, annotate
from .spec_reader import read_dataset


def test_majority_wins_without_looking_at_reliability():
    reliability = {1: Reliability(gold=0.0), 2: Reliability(gold=0.0), 3: Reliability(gold=1.0)}
    assert decide_field([(1, V1), (2, V1), (3, V0)], reliability) == (V1, False)


def test_tie_goes_to_the_better_gold_record_then_to_agreement():
    assert decide_field([(1, V0), (2, V1)], {1: Reliability(0.4), 2: Reliability(0.9)}) == (
        V1,
        True,
    )
    equal_gold = {1: Reliability(0.8, agreement=0.9), 2: Reliability(0.8, agreement=0.3)}
    assert decide_field([(1, V0), (2, V1)], equal_gold) == (V0, True)
    # An annotator without gold answers counts as 0 against one with a record.
    assert decide_field([(1, V0), (2, V1)], {2: Reliability(0.5)}) == (V1, True)


def test_tie_between_equally_reliable_annotators_leaves_the_pair_out():
    same = {1: Reliability(0.7, 0.5), 2: Reliability(0.7, 0.5)}
    votes = [Vote(1, (V0,) * 6), Vote(2, (V0,) * 4 + (V1, V0))]
    decision = decide_pair(votes, same)
    assert decision.decisions is None
    assert decision.tied_field == "helpfulness"


def test_agreement_counts_fields_matching_the_others_majority():
    tally = AgreementTally()
    tally.add_pair([Vote(1, (V0,) * 6), Vote(2, (V0,) * 6), Vote(3, (V0,) * 6), Vote(4, (V1,) * 6)])
    assert tally.shares() == {1: 1.0, 2: 1.0, 3: 1.0, 4: 0.0}
    # With two others who disagree there is no majority to agree with: not compared.
    lone = AgreementTally()
    lone.add_pair([Vote(1, (V0,) * 6), Vote(2, (V0,) * 6), Vote(3, (V1,) * 6)])
    assert lone.shares() == {3: 0.0}


def test_harm_tie_counts_as_harmful():
    tally = HarmTally()
    tally.add(7, ["violence"])
    tally.add(7, [])
    tally.add(8, ["porn"])
    tally.add(8, [])
    tally.add(8, [])
    assert tally.present(7) == ["violence"]
    assert tally.present(8) == []
    assert tally.present(9) is None


@pytest.fixture
def export(tmp_path):
    def run(*args: str) -> list[dict]:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        call_command(
            "export_safesora", "--out", str(out), "--test-fraction", "0", *args, verbosity=0
        )
        return read_dataset(out, "preference")["train"]

    return run


def _labelled_pair(batch, prompt_id: str):
    prompt = PromptFactory(prompt_id=prompt_id, prompt_labels=harm_label())
    return PairFactory(batch=batch, prompt=prompt)


@pytest.mark.django_db
def test_gold_accuracy_breaks_a_two_annotator_tie(make_user, export):
    batch = BatchFactory(overlap=2)
    careful, careless = make_user(), make_user()
    gold = PairFactory(batch=batch, is_gold=True, gold_answer={"helpfulness": V0})
    annotate(gold, careful, is_gold=True, gold_score=1.0)
    annotate(gold, careless, is_gold=True, gold_score=0.25)
    pair = _labelled_pair(batch, "ptie000001")
    annotate(pair, careful, helpfulness=V1)
    annotate(pair, careless, helpfulness=V0)

    [record] = export()
    assert record["pair_id"] == pair.pair_id  # the gold pair is never exported
    assert record["helpfulness"] == V1
    assert record["harmlessness"] == V0  # both agreed


@pytest.mark.django_db
def test_agreement_breaks_a_tie_when_gold_says_nothing(make_user, export):
    batch = BatchFactory()
    a, b, c, d = (make_user() for _ in range(4))
    # On other pairs `a` sides with the crowd and `b` does not.
    for n in range(2):
        other = _labelled_pair(batch, f"pcrowd{n:04d}")
        for user in (a, c, d):
            annotate(other, user, prefer=V0)
        annotate(other, b, prefer=V1)
    pair = _labelled_pair(batch, "ptie000002")
    annotate(pair, a, harmlessness=V1)
    annotate(pair, b, harmlessness=V0)

    records = {r["pair_id"]: r for r in export()}
    assert records[pair.pair_id]["harmlessness"] == V1


@pytest.mark.django_db
def test_unbreakable_tie_is_left_out_and_counted(make_user, tmp_path, capsys):
    batch = BatchFactory()
    a, b = make_user(), make_user()
    pair = _labelled_pair(batch, "ptie000003")
    annotate(pair, a, sub={"aesthetics": V1})
    annotate(pair, b)
    call_command("export_safesora", "--out", str(tmp_path / "o"), "--test-fraction", "0")
    assert "skipped 1: tie on aesthetics" in capsys.readouterr().out
    assert read_dataset(tmp_path / "o", "preference")["train"] == []


@pytest.mark.django_db
def test_rejected_annotations_do_not_vote(make_user, export):
    batch = BatchFactory()
    pair = _labelled_pair(batch, "prej000001")
    annotate(pair, make_user(), prefer=V0)
    for _ in range(2):
        annotate(pair, make_user(), prefer=V1, rejected=True)
    [record] = export()
    assert record["helpfulness"] == V0
    assert record["sub_preferences"]["aesthetics"] == V0


@pytest.mark.django_db
def test_video_harms_aggregate_every_judgement_across_pairs(make_user, export):
    """Video A is judged in two pairs by 3 annotators each: 3 of 6 judgements see violence,
    a tie, which the documented rule resolves to harmful."""
    batch = BatchFactory()
    prompt = PromptFactory(prompt_id="pharm00001", prompt_labels=harm_label())
    first = PairFactory(batch=batch, prompt=prompt)
    video_a = first.video_0
    second = PairFactory(batch=batch, prompt=prompt, video_0=video_a)
    users = [make_user() for _ in range(3)]
    for user, flags in zip(users, (["violence"], [], []), strict=True):
        annotate(first, user, video_0_harms=flags, video_1_harms=["porn"] if not flags else [])
    for user, flags in zip(users, (["violence"], ["violence"], []), strict=True):
        annotate(second, user, video_0_harms=flags)

    records = {r["pair_id"]: r for r in export()}
    assert records[first.pair_id]["video_0"]["is_safe"] is False
    assert records[second.pair_id]["video_0"]["is_safe"] is False
    # first.video_1: 2 of 3 judgements say porn → unsafe; second.video_1: never flagged.
    assert records[first.pair_id]["video_1"]["is_safe"] is False
    assert records[second.pair_id]["video_1"]["is_safe"] is True


@pytest.mark.django_db
def test_prompt_labels_come_from_annotators_when_the_prompt_has_none(make_user, tmp_path):
    batch = BatchFactory(label_prompts=True)
    prompt = PromptFactory(
        prompt_id="pask000001", prompt_labels=None, prompt_type="safety_critical"
    )
    pair = PairFactory(batch=batch, prompt=prompt)
    for harms in (["crime", "violence"], ["crime"], []):
        annotate(pair, make_user(), prompt_harms=harms)
    call_command(
        "export_safesora",
        "--out",
        str(tmp_path / "o"),
        "--kind",
        "all",
        "--test-fraction",
        "0",
        verbosity=0,
    )
    [prompt_record] = read_dataset(tmp_path / "o" / "eval", "eval")["train"]
    assert [k for k, v in prompt_record["prompt_labels"].items() if v] == ["crime"]
    [pair_record] = read_dataset(tmp_path / "o" / "preference", "preference")["train"]
    assert pair_record["video_0"]["prompt_labels"] == prompt_record["prompt_labels"]
