"""Domains for the hot tables' single-column rules (see core/domains.py), PostgreSQL only.

The definitions are written out here, not read from core.domains, so this migration keeps
doing what it did when the rules change later.
"""

from django.db import migrations

DOMAINS = [
    ("annot_nonneg_int", "integer", "VALUE >= 0"),
    ("annot_nonneg_bigint", "bigint", "VALUE >= 0"),
    ("annot_video_choice", "varchar(8)", "VALUE IN ('video_0', 'video_1')"),
    (
        "annot_assignment_status",
        "varchar(16)",
        "VALUE IN ('open', 'submitted', 'expired', 'skipped', 'reported', 'released')",
    ),
    ("annot_slot", "smallint", "VALUE IN (0, 1)"),
    ("annot_unit_interval", "double precision", "VALUE >= 0 AND VALUE <= 1"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # other databases keep the rules as column CHECKs
    for name, base, rule in DOMAINS:
        schema_editor.execute(f"CREATE DOMAIN {name} AS {base} CHECK ({rule})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in reversed(DOMAINS):
        schema_editor.execute(f"DROP DOMAIN {name}")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_audit_event")]

    operations = [migrations.RunPython(create, drop)]
