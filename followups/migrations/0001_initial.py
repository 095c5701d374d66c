"""Follow-up cases move here from metrics, keeping every row: the models take over
metrics' tables, which are then renamed (metrics 0007 drops them from its state)."""

import datetime
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MODELS = ['followupword', 'followup', 'followupdigest', 'followupevent', 'followupthreshold', 'teamservicelevel']


def content_types_move(apps, schema_editor, source="metrics", target="followups"):
    """Admin history and permissions follow the models: their content types change app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model__in=MODELS).update(app_label=target)


def content_types_move_back(apps, schema_editor):
    content_types_move(apps, schema_editor, source="followups", target="metrics")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('metrics', '0006_rollup_day_indexes'),
        ('surveys', '0006_answer_copies'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(content_types_move, content_types_move_back),
        # The models as they were in metrics, on their tables there: no row moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FollowUpWord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('word', models.CharField(max_length=100, unique=True)),
                    ],
                    options={
                        'db_table': 'metrics_followupword',
                        'ordering': ['word'],
                    },
                ),
                migrations.CreateModel(
                    name='FollowUp',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('new', 'New'), ('contacted', 'Contacted'), ('resolved', 'Resolved'), ('no_action', 'No action needed')], default='new', max_length=20)),
                        ('outcome', models.CharField(choices=[('unknown', 'Unknown'), ('recovered', 'Recovered'), ('not_recovered', 'Not recovered')], default='unknown', max_length=20)),
                        ('reason', models.CharField(max_length=200)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('due_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                        ('first_contacted_at', models.DateTimeField(blank=True, null=True)),
                        ('owner_notified_at', models.DateTimeField(blank=True, null=True)),
                        ('escalated_at', models.DateTimeField(blank=True, null=True)),
                        ('recovery_token_hash', models.CharField(blank=True, db_index=True, max_length=64)),
                        ('recovery_sent_at', models.DateTimeField(blank=True, null=True)),
                        ('recovery_answered_at', models.DateTimeField(blank=True, null=True)),
                        ('invitation', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='followup', to='surveys.invitation')),
                        ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'metrics_followup',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='FollowUpDigest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField()),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'metrics_followupdigest',
                    },
                ),
                migrations.CreateModel(
                    name='FollowUpEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('opened', 'Opened'), ('note', 'Note'), ('status', 'Status changed'), ('outcome', 'Outcome changed'), ('owner', 'Reassigned'), ('email', 'Emailed the customer'), ('escalated', 'Escalated'), ('recovery_sent', 'Asked the customer whether it was sorted out'), ('recovery_answer', 'The customer answered')], max_length=20)),
                        ('old', models.CharField(blank=True, max_length=200)),
                        ('new', models.CharField(blank=True, max_length=200)),
                        ('text', models.TextField(blank=True)),
                        ('at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('followup', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='followups.followup')),
                    ],
                    options={
                        'db_table': 'metrics_followupevent',
                        'ordering': ['at', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='FollowUpThreshold',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('csat', 'Satisfaction (CSAT)'), ('ces', 'Effort (CES)'), ('nps', 'Recommendation (NPS)')], max_length=10)),
                        ('scale_points', models.PositiveSmallIntegerField(help_text='5 or 7 for CSAT and CES; 11 for NPS (0-10).')),
                        ('low_up_to', models.SmallIntegerField(help_text='Scores up to and including this one open a case (CES: 1 is hardest).')),
                    ],
                    options={
                        'db_table': 'metrics_followupthreshold',
                        'constraints': [models.UniqueConstraint(fields=('kind', 'scale_points'), name='one_threshold_per_scale')],
                    },
                ),
                migrations.CreateModel(
                    name='TeamServiceLevel',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('hours', models.PositiveSmallIntegerField(default=8, help_text='Working hours to the first contact.')),
                        ('start', models.TimeField(default=datetime.time(8, 0))),
                        ('end', models.TimeField(default=datetime.time(16, 0))),
                        ('weekdays', models.CharField(default='12345', help_text='ISO weekdays worked: 1 is Monday, 7 Sunday.', max_length=7)),
                        ('team', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='service_level', to='surveys.team')),
                    ],
                    options={
                        'db_table': 'metrics_teamservicelevel',
                    },
                ),
                migrations.AddIndex(
                    model_name='followup',
                    index=models.Index(fields=['status', 'created_at'], name='metrics_fol_status_bd0564_idx'),
                ),
                migrations.AddConstraint(
                    model_name='followupdigest',
                    constraint=models.UniqueConstraint(fields=('owner', 'day'), name='one_digest_per_owner_day'),
                ),
            ],
        ),
        # Then the tables and their named indexes take this app's names.
        migrations.AlterModelTable(name='followupword', table=None),
        migrations.AlterModelTable(name='followup', table=None),
        migrations.AlterModelTable(name='followupdigest', table=None),
        migrations.AlterModelTable(name='followupevent', table=None),
        migrations.AlterModelTable(name='followupthreshold', table=None),
        migrations.AlterModelTable(name='teamservicelevel', table=None),
        migrations.RenameIndex(model_name='followup', new_name='followups_f_status_cabe60_idx', old_name='metrics_fol_status_bd0564_idx'),
    ]
