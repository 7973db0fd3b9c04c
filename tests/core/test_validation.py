"""The validation shortcut (core/validation.py) must agree with DRF on every input.

A worker's submit is checked by plain code when it is well formed and by the DRF serializer
otherwise; if the two ever disagreed, a payload DRF refuses could be stored, or a valid one
stored differently. Random payloads (valid ones, and valid ones with parts dropped, replaced
or retyped) go through both.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from annotation_server.annotations.apis import _SUBMIT_INPUT, SubmitInputSerializer
from annotation_server.assignments.apis import _GIVE_UP_INPUT, _NEXT_INPUT
from annotation_server.core.validation import UNSURE, InputValidator
from annotation_server.taxonomy import HARM_KEYS, SUB_DIMENSION_KEYS

SIDE = st.sampled_from(["left", "right"])
HARMS = st.lists(st.sampled_from(HARM_KEYS), max_size=len(HARM_KEYS))
MS = st.integers(min_value=0, max_value=24 * 3600 * 1000)
VALID_SUBMIT = st.fixed_dictionaries(
    {
        "sub_preferences": st.fixed_dictionaries({key: SIDE for key in SUB_DIMENSION_KEYS}),
        "harm_labels": st.fixed_dictionaries({"left": HARMS, "right": HARMS}),
        "helpfulness": SIDE,
        "harmlessness": SIDE,
    },
    optional={
        "timings": st.fixed_dictionaries({}, optional={"stage1_ms": MS, "stage2_ms": MS}),
        "prompt_harm_labels": st.one_of(st.none(), HARMS),
    },
)
# Values a client might send instead: near misses of every type DRF coerces or refuses.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.sampled_from(["", " left", "LEFT", "1", "true", "violence", "S1", "video_0", "\x00"]),
    st.text(max_size=5),
    st.lists(st.sampled_from([*HARM_KEYS, "nope", 1, None]), max_size=14),
    st.lists(st.sampled_from(HARM_KEYS), min_size=len(HARM_KEYS) + 1, max_size=15),
    st.dictionaries(st.sampled_from(["left", "right", "x"]), st.just([])),
)


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


@st.composite
def mutated(draw, valid):
    """A valid payload with a few of its parts dropped or replaced by odd values."""
    payload = copy.deepcopy(draw(valid))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = list(_paths(payload))
        if not paths:
            break
        *parent_path, last = draw(st.sampled_from(paths))
        parent = payload
        for step in parent_path:
            parent = parent[step]
        if draw(st.booleans()):
            parent[last] = draw(ODD)
        elif isinstance(parent, dict):
            del parent[last]
        else:
            parent.pop(last)
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return draw(ODD)
    return payload


def _agree(validator: InputValidator, data) -> object:
    fast = validator._fast(data)
    try:
        slow = validator._serializer.run_validation(data)
    except ValidationError as exc:
        assert fast is UNSURE, f"shortcut accepted {data!r}, DRF refused: {exc.detail}"
        return fast
    assert fast is UNSURE or fast == slow, f"{data!r}: shortcut {fast!r} != DRF {slow!r}"
    return fast


def _answers(**changes):
    payload = {
        "sub_preferences": {key: "left" for key in SUB_DIMENSION_KEYS},
        "harm_labels": {"left": [], "right": ["violence"]},
        "helpfulness": "left",
        "harmlessness": "right",
        "timings": {"stage1_ms": 1000, "stage2_ms": 500},
    }
    payload.update(changes)
    return payload


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(VALID_SUBMIT))
# Near misses DRF refuses or coerces, each written out once so every run tries them.
@example(_answers(timings={"stage1_ms": True}))
@example(_answers(timings={"stage1_ms": "30000"}))
@example(_answers(timings={"stage1_ms": 1.0}))
@example(_answers(timings={"stage1_ms": -1}))
@example(_answers(timings={"stage2_ms": 24 * 3600 * 1000 + 1}))
@example(_answers(timings=None))
@example(_answers(harm_labels={"left": list(HARM_KEYS) + ["porn"], "right": []}))
@example(_answers(harm_labels={"left": "violence", "right": []}))
@example(_answers(helpfulness=" left"))
@example(_answers(helpfulness=None))
@example(_answers(prompt_harm_labels=None))
@example(_answers(sub_preferences=[]))
def test_submit_shortcut_agrees_with_drf(payload):
    _agree(_SUBMIT_INPUT, payload)


@settings(max_examples=100, deadline=None)
@given(VALID_SUBMIT)
def test_well_formed_submits_take_the_shortcut(payload):
    # Not only agreement: the everyday payload must not fall back to DRF.
    assert _agree(_SUBMIT_INPUT, payload) is not UNSURE


NEXT = st.fixed_dictionaries(
    {},
    optional={
        "batch": st.one_of(st.text(max_size=140), st.sampled_from(["main", " main", "a" * 129])),
        "prefetch": st.one_of(st.booleans(), st.sampled_from(["true", 1, 0, None])),
    },
)
GIVE_UP = st.fixed_dictionaries(
    {"reason": st.sampled_from(["unsure", "broken_video", "nope", "", None, 3])},
    optional={"note": st.one_of(st.text(max_size=30), st.none(), st.just("x" * 2001))},
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(NEXT, GIVE_UP, ODD))
@example({"batch": " main"})
@example({"batch": ""})
@example({"batch": "a" * 129})
@example({"batch": "ma\x00in"})
@example({"batch": "mäin"})
@example({"prefetch": "true"})
@example({"prefetch": 1})
@example({"reason": "unsure", "note": None})
def test_claim_and_give_up_shortcuts_agree_with_drf(payload):
    _agree(_NEXT_INPUT, payload)
    _agree(_GIVE_UP_INPUT, payload)


def test_errors_still_come_from_drf():
    with pytest.raises(ValidationError) as caught:
        _SUBMIT_INPUT.validate({"helpfulness": "up", "harm_labels": {"left": ["nope"]}})
    detail = caught.value.detail
    assert set(detail) == {"sub_preferences", "harm_labels", "helpfulness", "harmlessness"}
    assert "right" in detail["harm_labels"]


def test_serializers_with_hooks_keep_the_full_path():
    class Checked(SubmitInputSerializer):
        def validate_helpfulness(self, value):
            raise ValidationError("never")

    class Reshaped(SubmitInputSerializer):
        def to_internal_value(self, data):
            return {"changed": True}

    assert InputValidator(Checked)._fast is None
    assert InputValidator(Reshaped)._fast is None
    assert InputValidator(Reshaped).validate(_answers()) == {"changed": True}
