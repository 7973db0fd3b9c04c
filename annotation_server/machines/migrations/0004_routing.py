# Routing a classification batch (machines/routing_models.py).

import django.db.models.deletion
from django.db import migrations, models

import annotation_server.machines.routing_models


class Migration(migrations.Migration):

    dependencies = [
        ('batches', '0013_pair_credits'),
        ('machines', '0003_machine_verdict'),
    ]

    operations = [
        migrations.CreateModel(
            name='BatchRouting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('audit_share', models.FloatField(default=0.1, help_text='Share of the items machines would settle that go to humans anyway, to measure how far the machines can be trusted.')),
                ('seed', models.PositiveBigIntegerField(default=annotation_server.machines.routing_models.routing_seed, help_text='Seeds the audit draw (a hash of seed and item).')),
                ('flagged_unsure', models.BooleanField(default=True, help_text='A verdict its annotator marked unsure (details.unsure) sends the item to humans. Unparseable verdicts always do.')),
                ('categories_must_agree', models.BooleanField(default=False, help_text='When the batch asks categories, versions naming different categories disagree (otherwise only the harmful verdict must agree).')),
                ('routed_at', models.DateTimeField(blank=True, null=True)),
                ('routed_by', models.CharField(blank=True, default='', max_length=150)),
                ('last_counts', models.JSONField(blank=True, default=dict, help_text='What the last routing did (items, reasons, saved).')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('annotators', models.ManyToManyField(help_text='The versions that decide: an item is settled only when all of them agree.', related_name='routings', to='machines.machineannotator')),
                ('batch', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='routing', to='batches.batch')),
            ],
            options={
                'verbose_name': 'batch routing',
                'constraints': [models.CheckConstraint(condition=models.Q(('audit_share__gte', 0), ('audit_share__lte', 1)), name='routing_audit_share_is_a_share')],
            },
        ),
        migrations.CreateModel(
            name='RoutingDecision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('to_humans', models.BooleanField()),
                ('reason', models.CharField(choices=[('agree', 'Machines agree'), ('disagree', 'Machines disagree'), ('unsure', 'A machine is unsure or its verdict unparseable'), ('missing', 'A machine has no verdict yet'), ('audit', 'Machines agree; drawn for the audit')], max_length=16)),
                ('started', models.BooleanField(default=False)),
                ('verdict', models.JSONField(blank=True, null=True)),
                ('credited', models.PositiveSmallIntegerField(default=0)),
                ('decided_at', models.DateTimeField(auto_now=True)),
                ('pair', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='routing_decision', to='batches.pair')),
                ('routing', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='machines.batchrouting')),
            ],
            options={
                'indexes': [models.Index(fields=['routing', 'reason'], name='routing_decision_reason_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('to_humans', True), models.Q(('reason', 'agree'), ('started', False)), _connector='OR'), name='routing_settled_only_when_agreeing')],
            },
        ),
    ]
