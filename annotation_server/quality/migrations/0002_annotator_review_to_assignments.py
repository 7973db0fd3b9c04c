"""AnnotatorReview moves to the assignments app (state only; the table stays)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('quality', '0001_annotator_review'),
        ('assignments', '0007_annotator_review_from_quality'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='AnnotatorReview')],
            database_operations=[],
        ),
    ]
