"""Single-column value rules of the hot tables, as PostgreSQL domains.

Pair, assignment and annotation rows are written by every claim and submit. PostgreSQL 15
re-reads every CHECK constraint of a table (parses its stored expression and plans it) for
each statement that writes to that table, whichever columns the statement touches: 26 such
evaluations per claimed and submitted pair, a quarter of PostgreSQL's work on the worker loop
(counted with tests/benchmarks/count_instructions.py). A domain's check is planned once per
connection (PostgreSQL's type cache) and only runs for a value written to a column of that
domain, so `UPDATE pair SET taken = taken + 1` checks `taken` and nothing else.

The fields below therefore put a column's own rule into its type on PostgreSQL (`DOMAINS`,
created by core's migration 0002) and into a plain column CHECK elsewhere (SQLite, where the
same rule holds). Rules that relate two columns stay table CHECK constraints.

A domain's definition is frozen in the migration that creates it: change a rule by adding a
domain (and a migration), not by editing one in place.
"""

from __future__ import annotations

from django.db import models

# name → (base type, rule with VALUE for the value). The base type is the one Django's
# PostgreSQL backend would give the field, so reads and parameters behave the same (and
# PostgreSQL reports a domain column to clients under its base type).
DOMAINS: dict[str, tuple[str, str]] = {
    "annot_nonneg_int": ("integer", "VALUE >= 0"),
    "annot_nonneg_bigint": ("bigint", "VALUE >= 0"),
    "annot_video_choice": ("varchar(8)", "VALUE IN ('video_0', 'video_1')"),
    "annot_assignment_status": (
        "varchar(16)",
        "VALUE IN ('open', 'submitted', 'expired', 'skipped', 'reported', 'released')",
    ),
    "annot_slot": ("smallint", "VALUE IN (0, 1)"),
    "annot_unit_interval": ("double precision", "VALUE >= 0 AND VALUE <= 1"),
    "annot_confidence": ("smallint", "VALUE >= 1 AND VALUE <= 5"),
}


def create_domains_sql(*names: str) -> list[str]:
    """CREATE DOMAIN statements for `names` (for a migration to run on PostgreSQL)."""
    return [
        f"CREATE DOMAIN {name} AS {DOMAINS[name][0]} CHECK ({DOMAINS[name][1]})" for name in names
    ]


class DomainMixin:
    """A field whose column is of domain `domain` on PostgreSQL and carries the same rule as a
    column CHECK on other databases."""

    def __init__(self, *args, domain: str, **kwargs):
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}: add it to core.domains.DOMAINS")
        self.domain = domain
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["domain"] = self.domain
        return name, path, args, kwargs

    def _base_type_matches(self, connection) -> None:
        base = super().db_type(connection)
        if base != DOMAINS[self.domain][0]:
            raise ValueError(
                f"{self.domain} is a domain over {DOMAINS[self.domain][0]}, "
                f"but this field's column would be {base}"
            )

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            self._base_type_matches(connection)
            return self.domain
        return super().db_type(connection)

    def db_check(self, connection):
        if connection.vendor == "postgresql":
            return None  # the domain checks it
        rule = DOMAINS[self.domain][1].replace("VALUE", '"%(column)s"')
        return rule % self.db_type_parameters(connection)

    def cast_db_type(self, connection):
        # Casts (Cast(), comparisons) use the base type: casting to a domain would check it.
        if connection.vendor == "postgresql":
            return DOMAINS[self.domain][0]
        return super().cast_db_type(connection)


class DomainCharField(DomainMixin, models.CharField):
    pass


class DomainPositiveIntegerField(DomainMixin, models.PositiveIntegerField):
    pass


class DomainPositiveSmallIntegerField(DomainMixin, models.PositiveSmallIntegerField):
    pass


class DomainPositiveBigIntegerField(DomainMixin, models.PositiveBigIntegerField):
    pass


class DomainFloatField(DomainMixin, models.FloatField):
    pass


def drop_column_checks(model_name: str, *field_names: str):
    """Migration operation: drop the column CHECKs Django made for these fields before they
    became domain fields (PostgreSQL only).

    Django's AlterField decides whether a column CHECK changed from the field's internal type
    alone, so moving `taken` from PositiveIntegerField to DomainPositiveIntegerField keeps the
    old `taken >= 0` table CHECK — the very cost the domain is there to remove.
    """
    from django.db import migrations

    def unnamed_checks(apps, schema_editor):
        """(model, column, the column's CHECKs no model constraint names) per field; nothing
        off PostgreSQL."""
        if schema_editor.connection.vendor != "postgresql":
            return
        model = apps.get_model(*model_name.split("."))
        named = {constraint.name for constraint in model._meta.constraints}
        for field_name in field_names:
            column = model._meta.get_field(field_name).column
            found = schema_editor._constraint_names(model, [column], check=True)
            yield model, column, [name for name in found if name not in named]

    def forward(apps, schema_editor):
        for model, _, checks in unnamed_checks(apps, schema_editor):
            for name in checks:
                schema_editor.execute(schema_editor._delete_check_sql(model, name))

    def backward(apps, schema_editor):
        # Undone before the AlterFields (a migration's operations are reversed), while the
        # column still has its domain: put the `column >= 0` table CHECK back, since reverting
        # the type to a plain integer takes the domain's rule away and Django adds nothing.
        for model, column, checks in unnamed_checks(apps, schema_editor):
            if not checks:
                name = schema_editor._create_index_name(model._meta.db_table, [column], "_check")
                check = f"{schema_editor.quote_name(column)} >= 0"
                schema_editor.execute(schema_editor._create_check_sql(model, name, check))

    return migrations.RunPython(forward, backward)
