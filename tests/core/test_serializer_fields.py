"""Shallow-copied serializer fields (core/serializers.py) mean what DRF's deep copies mean.

Every API serializer is run twice on the same input: with its own `get_fields` and with DRF's
`copy.deepcopy` of the declared fields. Validated data, errors and output must be equal, one
instance must never leak state into the next, and the OpenAPI schema the server publishes
must not change.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from annotation_server.annotations.apis import SubmitInputSerializer
from annotation_server.assignments.serializers import GiveUpInputSerializer, NextInputSerializer
from annotation_server.core.serializers import Serializer

GOOD = {
    "sub_preferences": {
        "instruction_following": "left",
        "correctness": "right",
        "information": "left",
        "aesthetics": "left",
    },
    "harm_labels": {"left": ["violence"], "right": []},
    "helpfulness": "left",
    "harmlessness": "right",
    "timings": {"stage1_ms": 2000, "stage2_ms": None},
    "prompt_harm_labels": ["violence", "crime"],
}
INPUTS = [
    (SubmitInputSerializer, GOOD),
    (SubmitInputSerializer, {**GOOD, "helpfulness": "middle"}),
    (SubmitInputSerializer, {**GOOD, "harm_labels": {"left": ["nope", 3], "right": "x"}}),
    (SubmitInputSerializer, {**GOOD, "sub_preferences": {"correctness": "left"}}),
    (SubmitInputSerializer, {**GOOD, "timings": {"stage1_ms": -1, "stage2_ms": "soon"}}),
    (SubmitInputSerializer, {**GOOD, "harm_labels": {"left": ["violence"] * 20, "right": []}}),
    (SubmitInputSerializer, {}),
    (SubmitInputSerializer, []),
    (NextInputSerializer, {"batch": "pilot", "prefetch": True}),
    (NextInputSerializer, {"batch": "x" * 200, "prefetch": "maybe"}),
    (GiveUpInputSerializer, {"reason": "unsure", "note": "blurry"}),
    (GiveUpInputSerializer, {"reason": "bored"}),
]


def _deep(serializer_class):
    """The same serializer with DRF's own field copies, nested serializers included."""

    def get_fields(self):
        return copy.deepcopy(self._declared_fields)

    return type(serializer_class.__name__, (serializer_class,), {"get_fields": get_fields})


def _outcome(serializer_class, data):
    given = serializer_class(data=data)
    return (given.is_valid(), given.errors, dict(given.validated_data or {}))


def test_the_good_inputs_are_valid():
    assert _outcome(SubmitInputSerializer, GOOD)[0]
    assert _outcome(NextInputSerializer, INPUTS[8][1])[0]
    assert _outcome(GiveUpInputSerializer, INPUTS[10][1])[0]


@pytest.mark.parametrize("serializer_class, data", INPUTS)
def test_validation_is_the_same_both_ways(serializer_class, data):
    shallow = _outcome(serializer_class, data)
    assert shallow == _outcome(_deep(serializer_class), data)
    # And again: a second instance sees nothing the first one set on its fields.
    assert _outcome(serializer_class, data) == shallow


def test_bad_and_good_instances_do_not_leak_into_each_other():
    bad = SubmitInputSerializer(data={**GOOD, "harm_labels": {"left": ["nope"], "right": []}})
    good = SubmitInputSerializer(data=GOOD)
    assert not bad.is_valid() and good.is_valid()
    assert good.validated_data["harm_labels"]["left"] == ["violence"]
    assert "harm_labels" in bad.errors
    left_good = good.fields["harm_labels"].fields["left"]
    left_bad = bad.fields["harm_labels"].fields["left"]
    assert left_good is not left_bad and left_good.child is not left_bad.child
    assert left_good.child.parent is left_good and left_good.parent.parent is good


class _Nested(Serializer):
    when = serializers.DateTimeField()
    tags = serializers.ListField(child=serializers.CharField())


class _Out(Serializer):
    id = serializers.UUIDField()
    inner = _Nested(source="thing")
    many = _Nested(many=True, source="things")
    kind = serializers.SerializerMethodField()

    def get_kind(self, obj) -> str:
        return f"kind-{obj.id.hex[:4]}"


def test_output_is_the_same_both_ways():
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    thing = SimpleNamespace(when=at, tags=["a", "b"])
    obj = SimpleNamespace(id=uuid.uuid4(), thing=thing, things=[thing, thing])
    assert _Out(obj).data == _deep(_Out)(obj).data
    assert _Out(obj).data["many"][1]["tags"] == ["a", "b"]


def test_the_published_schema_is_unchanged(monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    shallow = SchemaGenerator().get_schema(request=None, public=True)
    monkeypatch.setattr(Serializer, "get_fields", lambda self: copy.deepcopy(self._declared_fields))
    deep = SchemaGenerator().get_schema(request=None, public=True)
    assert shallow == deep and shallow["paths"]
