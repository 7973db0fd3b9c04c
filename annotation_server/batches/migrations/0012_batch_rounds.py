import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("batches", "0011_classification_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="derived_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="rounds",
                to="batches.batch",
            ),
        ),
        migrations.AddField(
            model_name="batch",
            name="derived_rule",
            field=models.JSONField(
                blank=True, help_text="How the items were chosen from the earlier batch.", null=True
            ),
        ),
    ]
