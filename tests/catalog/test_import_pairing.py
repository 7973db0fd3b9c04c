"""Pair generation (pure): every unordered pair once, in the given order."""

from annotation_server.batches.pairing import all_pairs, all_pairs_by_prompt


def test_all_pairs_covers_each_unordered_pair_once():
    pairs = all_pairs(["a", "b", "c", "d"])
    assert [p[0] for p in pairs] == ["a-b", "a-c", "a-d", "b-c", "b-d", "c-d"]
    assert len({frozenset(p[1:]) for p in pairs}) == 6


def test_repeated_videos_and_single_videos_make_no_self_pairs():
    assert all_pairs(["a", "a", "b"]) == [("a-b", "a", "b")]
    assert all_pairs(["a"]) == []


def test_pairs_never_cross_prompts():
    rows = all_pairs_by_prompt([("p1", "a"), ("p2", "x"), ("p1", "b"), ("p2", "y")])
    assert rows == [("p1", "a-b", "a", "b"), ("p2", "x-y", "x", "y")]
