"""A submit's answer, built directly (SubmitOutputSerializer.to_representation), is DRF's
field-by-field representation of the declared fields."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from rest_framework import serializers

from annotation_server.annotations.apis import SubmitOutputSerializer


def test_the_direct_answer_is_drfs():
    annotation = SimpleNamespace(assignment_id=uuid.uuid4())
    plain = serializers.Serializer.to_representation(SubmitOutputSerializer(), annotation)
    direct = SubmitOutputSerializer(annotation).data
    expected = {"id": str(annotation.assignment_id), "status": "submitted"}
    assert dict(direct) == dict(plain) == expected
    assert [type(v) for v in direct.values()] == [type(v) for v in plain.values()]
