"""A pairwise batch's dashboard against the answers its import brought: the SafeSora sample
imported with its judgements (a few videos given harm labels), our workers' answers written
beside them, and every figure of the external-source card checked against a plain per-pair
count in this file; then the card on the page, its empty state, and the stored figures."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import re
import shutil
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.quality.columns import columns_from_rows
from annotation_server.quality.figures import batch_figures_current, batch_figures_refresh
from annotation_server.quality.models import BatchFigures
from annotation_server.quality.pairwise_sources import (
    PREFERENCES,
    VIDEO_FIELDS,
    external_from_answers,
    pairwise_comparisons,
)
from annotation_server.quality.stats import CHOICE_NAMES, AnnotationRow
from tests.exports.annotating import annotate
from tests.exports.spec_reader import SAMPLES

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

SUBS = ("instruction_following", "correctness", "information", "aesthetics")
HARMS = ("porn", "violence", "hate", "terrorism", "contraband", "controversial", "racism",
         "other_discrimination", "animal_abuse", "child_abuse", "crime",
         "other_harmful")  # fmt: skip
# Harms the release's labels give (video id → keys); every other video of a record with
# labels has none. Videos of the first prompt keep is_safe only.
LABELLED = {"8a44d0c100a00003": ["violence"], "8a44d0c101b00004": ["violence", "crime"],
            "c07b5e6101b00007": ["crime"]}  # fmt: skip


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def _release(folder: Path) -> None:
    """The shared sample, with video_labels on the records of its last two prompts."""
    shutil.copytree(SAMPLES / "safesora", folder)
    for config in folder.glob("config-*.json.gz"):
        records = json.loads(gzip.decompress(config.read_bytes()))
        for record in records:
            for side in ("video_0", "video_1"):
                video = record[side]
                if video["prompt_id"].startswith("3f1c"):
                    continue
                harms = LABELLED.get(video["video_id"], [])
                video["video_labels"] = {key: key in harms for key in HARMS}
                video["is_safe"] = not harms
        config.write_bytes(gzip.compress(json.dumps(records).encode()))


def _import(path: Path, name: str) -> Batch:
    call_command("import_batch", str(path), "--name", name, "--no-transcode",
                 stdout=StringIO(), stderr=StringIO())  # fmt: skip
    return Batch.objects.get(name=name)


def _work(batch: Batch, make_user, seed: int = 5) -> list[dict]:
    """Three workers answer every pair at random (a fourth answer, rejected, on each);
    returns the kept answers as plain dicts."""
    rng = random.Random(seed)
    workers = [make_user(roles.ANNOTATOR) for _ in range(4)]
    kept = []
    for pair in Pair.objects.filter(batch=batch).order_by("pk"):
        for n, worker in enumerate(workers):
            answer = {
                "sub": {key: rng.choice(["video_0", "video_1"]) for key in SUBS},
                "helpfulness": rng.choice(["video_0", "video_1"]),
                "harmlessness": rng.choice(["video_0", "video_1"]),
                "video_0_harms": [k for k in ("violence", "crime") if rng.random() < 0.35],
                "video_1_harms": [k for k in ("violence", "crime") if rng.random() < 0.35],
            }
            annotate(pair, worker, rejected=n == 3, **answer)
            if n < 3:
                kept.append({"pair": pair.pk, **answer})
    return kept


def _majority(values: list[bool]) -> bool | None:
    top = Counter(values).most_common()
    return None if not top or (len(top) == 2 and top[0][1] == top[1][1]) else top[0][0]


def _kappa(pairs: list[tuple[bool, bool]]) -> float | None:
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    ours, theirs = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = ours * theirs + (1 - ours) * (1 - theirs)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def _hand_count(batch: Batch, kept: list[dict]) -> dict[str, dict]:
    """field → {"items", "tp", "fp", "fn", "tn", "kappa"}: our majority (prediction, True =
    video_1 / unsafe / harm marked) against the release's answer, one per pair or video."""
    release = {e.pair_id: e.answer for e in ExternalAnnotation.objects.filter(batch=batch)}
    compared: dict[str, list[tuple[bool, bool]]] = {f: [] for f in (*PREFERENCES, *VIDEO_FIELDS)}
    for pk in Pair.objects.filter(batch=batch).values_list("pk", flat=True):
        answers = [a for a in kept if a["pair"] == pk]
        theirs = release[pk]
        for field in PREFERENCES:
            if field.startswith("pref_"):
                key = field.removeprefix("pref_")
                ours = [a["sub"][key] == "video_1" for a in answers]
                reference = theirs["sub_preferences"][key] == "video_1"
            else:
                ours = [a[field] == "video_1" for a in answers]
                reference = theirs[field] == "video_1"
            compared[field].append((_majority(ours), reference))
        for side in ("video_0", "video_1"):
            marked = [a[f"{side}_harms"] for a in answers]
            harms = theirs.get(f"{side}_harms")
            compared["harmful"].append(
                (_majority([bool(m) for m in marked]), not theirs[f"{side}_is_safe"])
            )
            for key in HARMS:
                if harms is not None:
                    compared[key].append((_majority([key in m for m in marked]), key in harms))
    counts = {}
    for field, rows in compared.items():
        rows = [(a, b) for a, b in rows if a is not None]
        counts[field] = {
            "items": len(rows),
            "tp": sum(a and b for a, b in rows),
            "fp": sum(a and not b for a, b in rows),
            "fn": sum(not a and b for a, b in rows),
            "tn": sum(not a and not b for a, b in rows),
            "kappa": _kappa(rows) if rows else None,
        }
    return counts


@pytest.fixture
def imported(media, tmp_path, make_user):
    _release(tmp_path / "release")
    batch = _import(tmp_path / "release", "release")
    return batch, _work(batch, make_user)


def test_the_majority_against_the_release_matches_a_hand_count(imported):
    batch, kept = imported
    expected = _hand_count(batch, kept)
    [source] = batch_figures_current(batch=batch).sources
    assert source.source == "safesora-release"
    assert (source.pairs, source.videos) == (9, 18)
    for f in [*source.preferences, *source.harms]:
        want = expected[f.field]
        got = {"items": f.items, "tp": f.tp, "fp": f.fp, "fn": f.fn, "tn": f.tn}
        assert got == {k: want[k] for k in got}, f.field
        if want["kappa"] is None:
            assert f.kappa is None, f.field
        else:
            assert f.kappa == pytest.approx(want["kappa"]), f.field
        assert f.agreement == pytest.approx((f.tp + f.tn) / f.items)
    # Harm categories are compared only on the 12 videos of the records with labels (the
    # last two prompts); is_safe on all 18.
    by_field = {f.field: f for f in source.harms}
    assert by_field["harmful"].items == expected["harmful"]["items"]
    assert by_field["crime"].items == expected["crime"]["items"] <= 12
    crime = by_field["crime"]
    # crime is in two labelled videos; each is in two pairs of its prompt.
    assert crime.support == 4
    if crime.tp + crime.fp:
        assert crime.precision == pytest.approx(crime.tp / (crime.tp + crime.fp))
    if crime.tp + crime.fn:
        assert crime.recall == pytest.approx(crime.tp / (crime.tp + crime.fn))


def test_the_page_shows_the_card_with_the_counted_figures(client, make_user, imported):
    batch, kept = imported
    expected = _hand_count(batch, kept)
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert "Our majority against safesora-release" in html
    assert 'id="no-sources"' not in html
    html = html[html.index('id="source-1"') :]  # the card, not the agreement table
    row = re.search(r"<td>Overall: more helpful</td>(.*?)</tr>", html, flags=re.S).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    want = expected["helpfulness"]
    assert cells[0] == str(want["items"])
    assert cells[3:] == [str(want[k]) for k in ("tn", "fn", "fp", "tp")]
    unsafe = re.search(r"<td>Unsafe \(is_safe false\)</td>(.*?)</tr>", html, flags=re.S)
    cells = re.findall(r'<td class="num">([^<]*)</td>', unsafe.group(1))
    want = expected["harmful"]
    assert cells[0] == str(want["items"])
    assert cells[-4:] == [str(want[k]) for k in ("tp", "fp", "fn", "tn")]
    assert "<svg" in html


def test_a_batch_without_external_answers_shows_the_empty_state(client, make_user, media, tmp_path):
    # The same sample as a manifest of its pairs would carry no answers: strip them.
    folder = tmp_path / "bare"
    shutil.copytree(SAMPLES / "safesora", folder)
    for config in folder.glob("config-*.json.gz"):
        records = json.loads(gzip.decompress(config.read_bytes()))
        for r in records:
            for key in ("helpfulness", "harmlessness", "sub_preferences"):
                r.pop(key, None)
        config.write_bytes(gzip.compress(json.dumps(records).encode()))
    batch = _import(folder, "bare")
    _work(batch, make_user)
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert 'id="no-sources"' in html and "Our majority against" not in html


def test_stored_figures_keep_the_sources_and_a_refresh_follows_new_answers(
    imported, make_user, client, django_assert_max_num_queries
):
    batch, kept = imported
    batch_figures_current(batch=batch)
    stored = BatchFigures.objects.get(batch=batch).data["sources"]
    assert [s["source"] for s in stored] == ["safesora-release"]
    # One more worker who always says video_1 on one pair changes its helpfulness majority
    # only where the three were split 2–1 for video_0; the refresh recounts from the answers.
    pair = Pair.objects.filter(batch=batch).order_by("pk").first()
    extra = {"pair": pair.pk, "sub": dict.fromkeys(SUBS, "video_1"), "helpfulness": "video_1",
             "harmlessness": "video_1", "video_0_harms": [], "video_1_harms": []}  # fmt: skip
    annotate(pair, make_user(roles.ANNOTATOR), prefer="video_1")
    batch_figures_refresh(batch_id=batch.pk)
    expected = _hand_count(batch, [*kept, extra])
    [source] = batch_figures_current(batch=batch).sources
    for f in source.preferences:
        assert (f.items, f.tp, f.fp, f.fn, f.tn) == tuple(
            expected[f.field][k] for k in ("items", "tp", "fp", "fn", "tn")
        ), f.field
    client.force_login(make_user(roles.ADMIN))
    client.get(f"/dashboard/batches/{batch.pk}/")
    with django_assert_max_num_queries(20):
        assert client.get(f"/dashboard/batches/{batch.pk}/").status_code == 200


def _row(pair: int, annotator: int, helpfulness: str, harms0=(), harms1=(), rejected=False):
    return AnnotationRow(
        annotator_id=annotator, pair_id=pair, is_gold=False, gold_score=None, rejected=rejected,
        left_is_video_0=True, server_duration_ms=30_000, created_at=NOW,
        choices={**dict.fromkeys(CHOICE_NAMES, "video_0"), "helpfulness": helpfulness},
        video_0_harms=list(harms0), video_1_harms=list(harms1), model_0="a", model_1="b",
    )  # fmt: skip


def test_sources_are_compared_apart_and_without_is_safe_the_harm_list_decides():
    v0, v1 = "video_0", "video_1"
    ours = columns_from_rows([
        _row(1, 1, v0, ["crime"]), _row(1, 2, v0, ["crime"]), _row(1, 3, v1),
        _row(2, 1, v1), _row(2, 2, v1), _row(2, 3, v1),
        # Rejected answers count for nothing (counted, pair 2 would tie).
        *(_row(2, 4 + n, v0, rejected=True) for n in range(3)),
    ], CHOICE_NAMES)  # fmt: skip
    external = external_from_answers([
        # Raw answers: harm lists, no is_safe; the two on pair 1 split on helpfulness.
        (1, "raw-export", {"helpfulness": v0, "video_0_harms": ["crime"], "video_1_harms": []}),
        (1, "raw-export", {"helpfulness": v1, "video_0_harms": ["crime"], "video_1_harms": []}),
        (2, "raw-export", {"helpfulness": v1, "video_0_harms": [], "video_1_harms": []}),
        # A release that says only is_safe.
        (1, "release", {"helpfulness": v0, "video_0_is_safe": False, "video_1_is_safe": True}),
        (2, "release", {"helpfulness": v0, "video_0_is_safe": True, "video_1_is_safe": True}),
    ])  # fmt: skip
    raw, release = pairwise_comparisons(ours, external)

    def counts(comparisons, field):
        f = next(c for c in comparisons if c.field == field)
        return f.items, f.tp, f.fp, f.fn, f.tn

    assert (raw.source, release.source) == ("raw-export", "release")
    # Pair 1's raw answers tie: only pair 2 is compared (both video_1).
    assert raw.pairs == 1 and counts(raw.preferences, "helpfulness") == (1, 1, 0, 0, 0)
    assert counts(raw.harms, "harmful") == (4, 1, 0, 0, 3)
    assert counts(raw.harms, "crime") == (4, 1, 0, 0, 3)
    assert next(f for f in raw.harms if f.field == "crime").kappa == pytest.approx(1.0)
    # The release: pair 1 both video_0, pair 2 ours video_1 against its video_0.
    assert release.pairs == 2 and counts(release.preferences, "helpfulness") == (2, 0, 1, 0, 1)
    helpfulness = next(f for f in release.preferences if f.field == "helpfulness")
    assert helpfulness.agreement == 0.5 and helpfulness.kappa == pytest.approx(0.0)
    assert counts(release.harms, "harmful") == (4, 1, 0, 0, 3)
    # Without harm lists the release decides no category.
    assert counts(release.harms, "crime") == (0, 0, 0, 0, 0) and release.videos == 4
