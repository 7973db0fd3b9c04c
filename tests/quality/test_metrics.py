"""Quality metrics against values computed by hand on tiny fixtures (no database)."""

from __future__ import annotations

import math

import pytest

from annotation_server.quality import metrics


def test_alpha_matches_hand_computed_value_for_two_coders():
    # Coincidences: o_aa=2, o_bb=2, o_ab=o_ba=1; n=6, n_a=n_b=3 → α = 1 - 5·2/18 = 4/9.
    units = [["a", "a"], ["b", "b"], ["a", "b"]]
    assert metrics.krippendorff_alpha(units) == pytest.approx(4 / 9)
    assert metrics.raw_agreement(units) == pytest.approx(2 / 3)


def test_alpha_with_three_coders_and_a_singleton_unit():
    # Unit 1 (a,a,b): o_aa=1, o_ab=o_ba=1; unit 2 (a,a,a): o_aa=3; n_a=5, n_b=1, n=6
    # → α = 1 - 5·2/(2·5·1) = 0. The single-value unit is not pairable and is ignored.
    units = [["a", "a", "b"], ["a", "a", "a"], ["b"]]
    assert metrics.krippendorff_alpha(units) == pytest.approx(0.0)
    # Raw: unit 1 agrees on 2 of 6 ordered pairs, unit 2 on all → (1/3 + 1) / 2.
    assert metrics.raw_agreement(units) == pytest.approx(2 / 3)


def test_perfect_agreement_gives_alpha_one():
    assert metrics.krippendorff_alpha([["x", "x"], ["y", "y", "y"]]) == pytest.approx(1.0)


def test_alpha_is_undefined_when_everyone_gives_the_same_value():
    # No disagreement is possible: alpha is undefined (None, shown as "n/a"), not a crash.
    assert metrics.krippendorff_alpha([[False, False], [False, False, False]]) is None
    assert metrics.raw_agreement([[False, False], [False, False, False]]) == 1.0


def test_alpha_is_undefined_without_pairable_units():
    assert metrics.krippendorff_alpha([["a"], ["b"]]) is None
    assert metrics.krippendorff_alpha([]) is None
    assert metrics.raw_agreement([["a"], ["b"]]) is None


def test_majority_agreement_leaves_the_annotator_out_and_skips_ties():
    answers = [
        ("p1", "w", "a"),
        ("p1", "x", "a"),
        ("p1", "y", "a"),
        ("p1", "z", "b"),
        # p2: u's two others both said b → u disagrees; v's and t's others tie (a, b).
        ("p2", "u", "a"),
        ("p2", "v", "b"),
        ("p2", "t", "b"),
        # p3: only two answers → never counted.
        ("p3", "w", "a"),
        ("p3", "z", "b"),
    ]
    result = metrics.majority_agreement(answers)
    assert result["w"] == (1, 1)
    assert result["z"] == (0, 1)
    assert result["u"] == (0, 1)
    assert "v" not in result and "t" not in result


def test_win_rates_count_both_directions():
    rates = metrics.win_rates([("A", "B"), ("A", "B"), ("B", "A"), ("A", "C"), ("A", "A")])
    assert rates[("A", "B")] == (2, 3)
    assert rates[("B", "A")] == (1, 3)
    assert rates[("C", "A")] == (0, 1)
    assert ("A", "A") not in rates


def test_bradley_terry_two_models_matches_closed_form():
    # A beats B 3 times out of 4: p_A/p_B = 3, so the centred scores are ±ln(3)/2.
    fit = metrics.bradley_terry([("A", "B")] * 3 + [("B", "A")], prior=0)
    assert fit["A"] == pytest.approx(math.log(3) / 2, abs=1e-6)
    assert fit["B"] == pytest.approx(-math.log(3) / 2, abs=1e-6)


def test_bradley_terry_satisfies_the_likelihood_equations():
    data = (
        [("A", "B")] * 4
        + [("B", "A")] * 2
        + [("B", "C")] * 3
        + [("C", "B")]
        + [("A", "C")] * 2
        + [("C", "A")]
    )
    fit = metrics.bradley_terry(data, prior=0)
    p = {m: math.exp(s) for m, s in fit.items()}
    # At the maximum, each model's wins equal its expected wins.
    for model in "ABC":
        wins = sum(1 for w, _ in data if w == model)
        expected = sum(
            p[model] / (p[model] + p[other])
            for winner, loser in data
            if model in (winner, loser)
            for other in [loser if winner == model else winner]
        )
        assert wins == pytest.approx(expected, abs=1e-6)
    assert fit["A"] > fit["B"] > fit["C"]


def test_bradley_terry_prior_keeps_a_model_that_never_wins_finite():
    fit = metrics.bradley_terry([("A", "B")] * 5)
    assert math.isfinite(fit["B"]) and fit["A"] > fit["B"]


def test_bootstrap_interval_contains_the_estimate_and_is_reproducible():
    data = [("A", "B")] * 30 + [("B", "A")] * 10 + [("B", "C")] * 25 + [("C", "B")] * 15
    first = metrics.bradley_terry_bootstrap(data, samples=100, seed=3)
    again = metrics.bradley_terry_bootstrap(data, samples=100, seed=3)
    assert first == again
    assert [s.model for s in first] == ["A", "B", "C"]
    for s in first:
        assert s.low <= s.score <= s.high
    assert first[0].judgements == 40 and first[1].judgements == 80
    # A beat B 3:1 on 40 judgements: clearly above C, whose interval lies below A's.
    assert first[2].high < first[0].low


def test_left_share_counts_what_the_worker_saw():
    # video_0 chosen while shown left → left; video_1 chosen while video_0 left → right.
    assert (
        metrics.left_share(
            [("video_0", True), ("video_1", True), ("video_1", False), ("video_0", False)]
        )
        == 0.5
    )
    assert metrics.left_share([("video_1", False), ("video_0", True)]) == 1.0
    assert metrics.left_share([]) is None
