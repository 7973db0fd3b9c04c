"""The domain of a classification answer's confidence (1–5), PostgreSQL only (core/domains.py)."""

from django.db import migrations

NAME, BASE, RULE = "annot_confidence", "smallint", "VALUE >= 1 AND VALUE <= 5"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE DOMAIN {NAME} AS {BASE} CHECK ({RULE})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP DOMAIN {NAME}")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_domains")]

    operations = [migrations.RunPython(create, drop)]
