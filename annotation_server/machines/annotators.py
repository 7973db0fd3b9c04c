"""Saving a machine annotator's configuration as a version (like catalog/taxonomy_data.py):
a changed configuration becomes the next version, the same one again returns the newest."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation_server.core.exceptions import ApplicationError

from .models import MachineAnnotator

# Everything that shapes a verdict or its cost: a change to any of them is a new version.
CONFIG_FIELDS = tuple(
    f.name
    for f in MachineAnnotator._meta.concrete_fields
    if f.name not in ("id", "name", "version", "created_at")
)


def annotator_config(annotator: MachineAnnotator) -> dict[str, Any]:
    return {name: getattr(annotator, name) for name in CONFIG_FIELDS}


@transaction.atomic
def machine_annotator_save(*, name: str, **config: Any) -> tuple[MachineAnnotator, bool]:
    """The version of `name` with this configuration (fields left out take the newest
    version's values, or the defaults), and whether it is new."""
    unknown = sorted(set(config) - set(CONFIG_FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown machine annotator settings: {', '.join(unknown)}.")
    # Locks the newest version so two saves of one name cannot both make version n+1.
    newest = (
        MachineAnnotator.objects.select_for_update().filter(name=name).order_by("-version").first()
    )
    base = annotator_config(newest) if newest else annotator_config(MachineAnnotator())
    if "detector_mapping" in config and config["detector_mapping"] is None:
        config["detector_mapping"] = {}  # the admin's emptied field: the built-in mapping
    if "examples" in config and config["examples"] is None:
        config["examples"] = []  # the admin's emptied field: no examples
    candidate = MachineAnnotator(name=name, **{**base, **config})
    candidate.full_clean(exclude=["version"], validate_unique=False, validate_constraints=False)
    if newest is not None and annotator_config(candidate) == annotator_config(newest):
        return newest, False
    candidate.version = 1 if newest is None else newest.version + 1
    candidate.save()
    return candidate, True


def machine_annotator_get(name: str, version: int | None = None) -> MachineAnnotator:
    """The named version, or the newest; ApplicationError naming what exists otherwise."""
    versions = MachineAnnotator.objects.filter(name=name)
    found = versions.filter(version=version).first() if version else versions.first()
    if found is None:
        known = ", ".join(f"v{v}" for v in versions.values_list("version", flat=True))
        raise ApplicationError(
            f"No machine annotator {name!r}"
            + (f" version {version}" if version else "")
            + (f" (it has {known})." if known else ".")
        )
    return found
