"""The claim response writes its timestamps exactly as DRF's DateTimeField would."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from annotation_server.assignments.apis import datetime_text

_VALUES = [
    dt.datetime(2026, 11, 22, 16, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 22, 16, 30, 5, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
]


@pytest.mark.parametrize("zone", [None, "Asia/Shanghai", "America/New_York"])
@pytest.mark.parametrize("value", _VALUES)
def test_datetime_text_matches_drf(value, zone):
    field = serializers.DateTimeField()
    with timezone.override(zone) if zone else timezone.override(timezone.get_default_timezone()):
        expected = field.to_representation(value)
        assert datetime_text(value, timezone.get_current_timezone()) == expected
    if zone is None:
        assert expected.endswith("Z")
