"""A DRF serializer whose per-request fields are shallow copies of the declared ones.

DRF gives every serializer instance its own fields with `copy.deepcopy(_declared_fields)`,
and a field's deep copy calls its constructor again with the original arguments. For the
worker's claim and submit that is ~30 constructor calls per request (nested serializers,
list fields and their children) and the largest single cost of the request in Python
(docs/benchmarks.md, "Next task under load"). The copies exist so that binding a field to
its serializer (name, parent, source) never touches the class's declared field; a shallow
copy of each field gives the same isolation, because binding and validation only set
attributes on the field itself. Containers are copied through: a nested serializer
builds its own fields from its class the same way, and a list or dict field gets a fresh
child.

`Serializer.get_fields` is the plain meaning (`copy.deepcopy`);
`tests/core/test_serializer_fields.py` runs every API serializer both ways on valid and
invalid input and compares data, errors and the OpenAPI schema.
"""

from __future__ import annotations

from rest_framework import fields, serializers


def field_fresh(field: fields.Field) -> fields.Field:
    """An unbound copy of a declared field that shares nothing binding or validation sets."""
    # What `copy.copy` does for these classes (no __copy__, no __slots__, state in __dict__),
    # without its __reduce_ex__ round trip, which costs as much as the rest of the copy.
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    if isinstance(field, serializers.BaseSerializer):
        # A nested serializer builds its fields (a cached property) on first use.
        clone.__dict__.pop("fields", None)
    child = clone.__dict__.get("child")
    if isinstance(child, fields.Field):
        # The container bound its child (name and source "") when it was declared; only the
        # parent differs for the copy.
        clone.child = field_fresh(child)
        clone.child.parent = clone
    return clone


class Serializer(serializers.Serializer):
    def get_fields(self):
        return {name: field_fresh(field) for name, field in self._declared_fields.items()}
