"""Pairs may only join two videos of the pair's own prompt.

Django has no composite foreign keys, so on PostgreSQL this adds two (video, prompt) foreign
keys against catalog_video's (id, prompt_id) unique constraint. SQLite (the embedded default)
relies on the importer's validation.
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE batches_pair ADD CONSTRAINT pair_video_0_same_prompt FOREIGN KEY "
    "(video_0_id, prompt_id) REFERENCES catalog_video (id, prompt_id)",
    "ALTER TABLE batches_pair ADD CONSTRAINT pair_video_1_same_prompt FOREIGN KEY "
    "(video_1_id, prompt_id) REFERENCES catalog_video (id, prompt_id)",
]
BACKWARD = [
    "ALTER TABLE batches_pair DROP CONSTRAINT IF EXISTS pair_video_0_same_prompt",
    "ALTER TABLE batches_pair DROP CONSTRAINT IF EXISTS pair_video_1_same_prompt",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("batches", "0001_initial"),
        ("catalog", "0001_initial"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
