"""Request validation with one shared serializer per input shape (the worker's hot endpoints).

A DRF serializer deep-copies all its declared fields each time it is instantiated; for the
nested submit payload that copy costs more CPU than the validation itself, on the endpoint
every worker calls after every pair. `InputValidator` binds one instance at import time and
runs its validation on each payload. The serializer stays the single description of the input
(drf-spectacular documents it; its error messages and shapes are unchanged): `validate(data)`
returns what `serializer.validated_data` would, and raises the same `ValidationError` as
`is_valid(raise_exception=True)`.

Safe to share between threads: `run_validation` keeps nothing per call on the serializer or
its fields (results and errors are return values and exceptions). Only serializers without
per-request context (no `self.context` in validators) may be used this way.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class InputValidator:
    def __init__(self, serializer_class: type[serializers.Serializer]):
        self.serializer_class = serializer_class
        self._serializer = serializer_class()
        _ = self._serializer.fields  # bind every (nested) field once, here

    def validate(self, data: Any) -> dict[str, Any]:
        return self._serializer.run_validation(data)
