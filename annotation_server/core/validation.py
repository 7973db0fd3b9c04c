"""Request validation with one shared serializer per input shape (the worker's hot endpoints).

A DRF serializer deep-copies all its declared fields each time it is instantiated; for the
nested submit payload that copy costs more CPU than the validation itself, on the endpoint
every worker calls after every pair. `InputValidator` binds one instance at import time and
runs its validation on each payload. The serializer stays the single description of the input
(drf-spectacular documents it; its error messages and shapes are unchanged): `validate(data)`
returns what `serializer.validated_data` would, and raises the same `ValidationError` as
`is_valid(raise_exception=True)`.

Well-formed payloads take a shortcut: at import, the serializer's declared fields are turned
into plain checks (`_compile`) that accept exactly the inputs DRF would accept unchanged —
dicts, lists, strings among the choices, integers within bounds — and build the same
validated value, about ten times faster than DRF's field-by-field machinery (the submit's
nested serializer: ~50 µs → ~4 µs). Anything else (a missing or null field, a value of
another type, a string DRF would coerce, a serializer with hooks the shortcut doesn't know)
goes through the serializer itself, so every error comes from DRF as before. The property test
(tests/core/test_validation.py) checks on random payloads that both ways agree.

Safe to share between threads: `run_validation` keeps nothing per call on the serializer or
its fields (results and errors are return values and exceptions). Only serializers without
per-request context (no `self.context` in validators) may be used this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import validators as django_validators
from rest_framework import fields as drf_fields
from rest_framework import serializers

# A shortcut check returns the validated value, or this marker for "let DRF decide".
UNSURE = object()
_MISSING = drf_fields.empty

Check = Callable[[Any], Any]


class InputValidator:
    def __init__(self, serializer_class: type[serializers.Serializer]):
        self.serializer_class = serializer_class
        self._serializer = serializer_class()
        _ = self._serializer.fields  # bind every (nested) field once, here
        self._fast = _compile(self._serializer)

    def validate(self, data: Any) -> dict[str, Any]:
        if self._fast is not None:
            value = self._fast(data)
            if value is not UNSURE:
                return value
        return self._serializer.run_validation(data)


def _compile(field: drf_fields.Field) -> Check | None:
    """A shortcut for `field.run_validation` on inputs it is sure of, or None if the field
    (or a nested one) has features the shortcut does not reproduce."""
    if field.read_only or getattr(field, "partial", False):
        return None
    if isinstance(field, serializers.Serializer):
        return _compile_serializer(field)
    if type(field) is drf_fields.ChoiceField and not field.validators:
        return _compile_choice(field)
    if type(field) is drf_fields.ListField:
        return _compile_list(field)
    if type(field) is drf_fields.IntegerField:
        return _compile_integer(field)
    if type(field) is drf_fields.BooleanField and not field.validators:
        return _nullable(field, lambda data: data if type(data) is bool else UNSURE)
    if type(field) is drf_fields.CharField:
        return _compile_char(field)
    return None


def _compile_serializer(serializer: serializers.Serializer) -> Check | None:
    cls = type(serializer)
    if (
        isinstance(serializer, serializers.ListSerializer)
        or cls.validate is not serializers.Serializer.validate
        or cls.to_internal_value is not serializers.Serializer.to_internal_value
        or cls.run_validation is not serializers.Serializer.run_validation
        or serializer.validators
    ):
        return None
    plan: list[tuple[str, Check, bool, Any]] = []
    for field in serializer._writable_fields:
        check = _compile(field)
        if (
            check is None
            or field.source != field.field_name
            or hasattr(serializer, f"validate_{field.field_name}")
            or (field.default is not _MISSING and callable(field.default))
        ):
            return None
        plan.append((field.field_name, check, field.required, field.default))

    def check_mapping(data: Any) -> Any:
        if type(data) is not dict:
            return UNSURE
        value = {}
        for name, check, required, default in plan:
            item = data.get(name, _MISSING)
            if item is _MISSING:
                if required:
                    return UNSURE
                if default is not _MISSING:
                    value[name] = default
                continue
            item = check(item)
            if item is UNSURE:
                return UNSURE
            value[name] = item
        return value

    return _nullable(serializer, check_mapping)


def _compile_choice(field: drf_fields.ChoiceField) -> Check:
    choices = {key: value for key, value in field.choice_strings_to_values.items() if key}

    def check_choice(data: Any) -> Any:
        if type(data) is not str:
            return UNSURE
        return choices.get(data, UNSURE)

    return _nullable(field, check_choice)


def _compile_list(field: drf_fields.ListField) -> Check | None:
    child = _compile(field.child)
    if child is None or not all(
        isinstance(v, django_validators.MaxLengthValidator | django_validators.MinLengthValidator)
        for v in field.validators
    ):
        return None
    low = field.min_length or 0
    high = field.max_length if field.max_length is not None else float("inf")
    if not field.allow_empty:
        low = max(low, 1)

    def check_list(data: Any) -> Any:
        if type(data) is not list or not low <= len(data) <= high:
            return UNSURE
        value = [child(item) for item in data]
        return UNSURE if UNSURE in value else value

    return _nullable(field, check_list)


def _compile_integer(field: drf_fields.IntegerField) -> Check | None:
    if not all(
        isinstance(v, django_validators.MaxValueValidator | django_validators.MinValueValidator)
        for v in field.validators
    ):
        return None
    low = field.min_value if field.min_value is not None else float("-inf")
    high = field.max_value if field.max_value is not None else float("inf")

    def check_integer(data: Any) -> Any:
        # `type(...) is int` leaves out bool, which DRF refuses, and strings, which it parses.
        return data if type(data) is int and low <= data <= high else UNSURE

    return _nullable(field, check_integer)


_CHAR_VALIDATORS = (
    django_validators.MaxLengthValidator,
    django_validators.MinLengthValidator,
    drf_fields.ProhibitNullCharactersValidator,
    drf_fields.ProhibitSurrogateCharactersValidator,
)


def _compile_char(field: drf_fields.CharField) -> Check | None:
    if not all(isinstance(v, _CHAR_VALIDATORS) for v in field.validators):
        return None
    low = max(field.min_length or 0, 0 if field.allow_blank else 1)
    high = field.max_length if field.max_length is not None else float("inf")
    trim = field.trim_whitespace

    def check_char(data: Any) -> Any:
        # Plain ASCII without NUL and without surrounding blanks: nothing DRF would change
        # or refuse beyond the length bounds.
        if (
            type(data) is not str
            or not data.isascii()
            or "\x00" in data
            or (trim and data != data.strip())
            or not low <= len(data) <= high
        ):
            return UNSURE
        return data

    return _nullable(field, check_char)


def _nullable(field: drf_fields.Field, check: Check) -> Check:
    if not field.allow_null:
        return check
    return lambda data: None if data is None else check(data)
