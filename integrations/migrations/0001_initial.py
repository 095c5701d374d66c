"""Helpdesk connections and deliveries, outbound webhooks and email provider events move
here from surveys, keeping every row: the models take over surveys' tables, which are
then renamed (surveys 0007 drops them from its state)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


MODELS = ['helpdeskconnection', 'emailevent', 'inbounddelivery', 'webhooksubscription', 'webhookdelivery']


def content_types_move(apps, schema_editor, source="surveys", target="integrations"):
    """Admin history and permissions follow the models: their content types change app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model__in=MODELS).update(app_label=target)


def content_types_move_back(apps, schema_editor):
    content_types_move(apps, schema_editor, source="integrations", target="surveys")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('surveys', '0006_answer_copies'),
    ]

    operations = [
        migrations.RunPython(content_types_move, content_types_move_back),
        # The models as they were in surveys, on their tables there: no row moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='HelpdeskConnection',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(choices=[('zendesk', 'Zendesk'), ('freshdesk', 'Freshdesk'), ('hubspot', 'HubSpot'), ('helpscout', 'Help Scout'), ('intercom', 'Intercom')], max_length=20, unique=True)),
                        ('secret', models.CharField(max_length=200)),
                        ('api_token', models.CharField(blank=True, max_length=200)),
                        ('active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'db_table': 'surveys_helpdeskconnection',
                        'verbose_name': 'helpdesk connection',
                        'ordering': ['provider'],
                    },
                ),
                migrations.CreateModel(
                    name='EmailEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('esp_name', models.CharField(max_length=30)),
                        ('event_id', models.CharField(blank=True, max_length=200)),
                        ('event_type', models.CharField(max_length=20)),
                        ('message_id', models.CharField(blank=True, db_index=True, max_length=255)),
                        ('recipient', models.CharField(blank=True, max_length=254)),
                        ('description', models.CharField(blank=True, max_length=500)),
                        ('occurred_at', models.DateTimeField()),
                        ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'db_table': 'surveys_emailevent',
                        'ordering': ['-occurred_at', '-pk'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('event_id', ''), _negated=True), fields=('esp_name', 'event_id'), name='email_event_unique_id')],
                    },
                ),
                migrations.CreateModel(
                    name='InboundDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(choices=[('zendesk', 'Zendesk'), ('freshdesk', 'Freshdesk'), ('hubspot', 'HubSpot'), ('helpscout', 'Help Scout'), ('intercom', 'Intercom')], max_length=20)),
                        ('account', models.CharField(blank=True, max_length=100)),
                        ('ticket_id', models.CharField(max_length=100)),
                        ('solved_at', models.DateTimeField()),
                        ('body', models.TextField()),
                        ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('processed_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('error', models.TextField(blank=True)),
                    ],
                    options={
                        'db_table': 'surveys_inbounddelivery',
                        'verbose_name_plural': 'inbound deliveries',
                        'ordering': ['-received_at', '-pk'],
                        'indexes': [models.Index(fields=['processed_at', 'received_at'], name='surveys_inb_process_8937f1_idx')],
                        'constraints': [models.UniqueConstraint(fields=('provider', 'account', 'ticket_id', 'solved_at'), name='inbound_delivery_unique_solve')],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookSubscription',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('url', models.URLField(max_length=500)),
                        ('format', models.CharField(choices=[('standard', 'Standard Webhooks (JSON event)'), ('slack', 'Slack incoming webhook'), ('teams', 'Microsoft Teams incoming webhook')], default='standard', max_length=10)),
                        ('events', models.JSONField(default=list)),
                        ('secret', models.CharField(editable=False, max_length=100)),
                        ('active', models.BooleanField(default=True)),
                        ('failing_since', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='surveys.team')),
                    ],
                    options={
                        'db_table': 'surveys_webhooksubscription',
                        'ordering': ['pk'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('message_id', models.CharField(max_length=40)),
                        ('event_type', models.CharField(max_length=40)),
                        ('body', models.TextField()),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('delivered', 'Delivered'), ('failed', 'Failed')], default='pending', max_length=10)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('last_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=500)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='integrations.webhooksubscription')),
                    ],
                    options={
                        'db_table': 'surveys_webhookdelivery',
                        'verbose_name_plural': 'webhook deliveries',
                        'ordering': ['-created_at', '-pk'],
                        'indexes': [models.Index(fields=['state', 'next_attempt_at'], name='surveys_web_state_d7e7d6_idx')],
                        'constraints': [models.UniqueConstraint(fields=('subscription', 'message_id'), name='webhook_delivery_unique_message')],
                    },
                ),
            ],
        ),
        # Then the tables and their named indexes take this app's names.
        migrations.AlterModelTable(name='helpdeskconnection', table=None),
        migrations.AlterModelTable(name='emailevent', table=None),
        migrations.AlterModelTable(name='inbounddelivery', table=None),
        migrations.AlterModelTable(name='webhooksubscription', table=None),
        migrations.AlterModelTable(name='webhookdelivery', table=None),
        migrations.RenameIndex(model_name='inbounddelivery', new_name='integration_process_d024c0_idx', old_name='surveys_inb_process_8937f1_idx'),
        migrations.RenameIndex(model_name='webhookdelivery', new_name='integration_state_efbecd_idx', old_name='surveys_web_state_d7e7d6_idx'),
    ]
