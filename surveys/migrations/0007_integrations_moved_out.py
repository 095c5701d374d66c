"""Helpdesk, webhook and email provider models now live in the integrations app
(integrations 0001 took the tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('surveys', '0006_answer_copies'),
        ('integrations', '0001_initial'),
    ]

    # The tables stay: the models' new app took them over (and renamed them).
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='EmailEvent',
                ),
                migrations.DeleteModel(
                    name='HelpdeskConnection',
                ),
                migrations.DeleteModel(
                    name='InboundDelivery',
                ),
                migrations.RemoveField(
                    model_name='webhooksubscription',
                    name='team',
                ),
                migrations.DeleteModel(
                    name='WebhookDelivery',
                ),
                migrations.DeleteModel(
                    name='WebhookSubscription',
                ),
            ],
        ),
    ]
