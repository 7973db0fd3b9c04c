"""An assignment's API representation, built directly (AssignmentOutSerializer's
`to_representation`), is DRF's field-by-field representation of the declared fields.

Both are compared, value and type, on what the claim statement loads (the everyday claim),
on what the display query loads (resume, detail), for a pair shown either way round, with a
prompt whose labels are asked, with a poster, and for a classification item.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from annotation_server.assignments import claim, selectors
from annotation_server.assignments.serializers import AssignmentOutSerializer
from annotation_server.catalog.models import Prompt, Video
from tests.assignments.workload import make_batch, make_items

pytestmark = pytest.mark.django_db


def _both(assignment) -> tuple[dict, dict]:
    direct = AssignmentOutSerializer(assignment).data
    plain = AssignmentOutSerializer().field_representation(assignment)
    return dict(direct), dict(plain)


def _same(assignment) -> dict:
    direct, plain = _both(assignment)
    assert direct == plain
    # The same types too (a str subclass or an int for a bool would render differently).
    assert json.dumps(direct, sort_keys=True) == json.dumps(plain, sort_keys=True)
    assert _types(direct) == _types(plain)
    return direct


def _types(value):
    if isinstance(value, dict):
        return {key: _types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_types(item) for item in value]
    return type(value)


@pytest.mark.parametrize("label_prompts", [False, True])
def test_a_claimed_pair_is_represented_as_drf_does(make_user, no_claim_sweep, label_prompts):
    make_batch(4, label_prompts=label_prompts, instructions="Watch both.", must_watch=True)
    Prompt.objects.update(prompt_labels=None)
    Video.objects.filter(pk=Video.objects.order_by("pk").first().pk).update(poster="p/x.jpg")
    seen = set()
    for _ in range(4):
        annotator = make_user()
        claimed = claim.assignment_claim_next(annotator=annotator)
        body = _same(claimed)
        seen.add(claimed.left_is_video_0)
        assert body["ask_prompt_labels"] is label_prompts or connection.vendor != "postgresql"
        # Resumed (the display query) as well as claimed (the statement's loaded rows).
        _same(selectors.assignment_for_display(assignment_id=claimed.id))
        _same(claim.assignment_claim_next(annotator=annotator))


def test_a_pair_shown_either_way_round(make_user, no_claim_sweep):
    make_batch(1)
    claimed = claim.assignment_claim_next(annotator=make_user())
    for left_is_video_0 in (True, False):
        claimed.left_is_video_0 = left_is_video_0
        body = _same(claimed)
        assert body["left"] and body["right"] and body["item"] is None


def test_a_pair_without_a_prompt_and_a_classification_item(make_user, no_claim_sweep):
    make_items(1, ask_reason=True)
    body = _same(claim.assignment_claim_next(annotator=make_user()))
    assert body["prompt"] is None and body["item"] and body["question"]
