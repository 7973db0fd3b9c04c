"""AnnotatorReview belongs to assignments (who may claim reads it); its table keeps its name.

State only: the table and its rows stay as they are.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assignments', '0006_copied_fks_without_db_constraint'),
        ('batches', '0005_domain_columns'),
        ('quality', '0001_annotator_review'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AnnotatorReview',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('approved', 'Approved'), ('rejected', 'Rejected')], max_length=16)),
                        ('note', models.TextField(blank=True, max_length=2000)),
                        ('at', models.DateTimeField()),
                        ('annotations_affected', models.PositiveIntegerField(default=0)),
                        ('annotator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='work_reviews', to=settings.AUTH_USER_MODEL)),
                        ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='annotator_reviews', to='batches.batch')),
                        ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'quality_annotatorreview',
                        'constraints': [models.UniqueConstraint(fields=('batch', 'annotator'), name='review_once_per_batch'), models.CheckConstraint(condition=models.Q(('status__in', ['approved', 'rejected'])), name='review_status_valid')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
