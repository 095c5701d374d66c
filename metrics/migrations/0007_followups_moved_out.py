"""Follow-up cases now live in the followups app (followups 0001 took the tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ('metrics', '0006_rollup_day_indexes'),
        ('followups', '0001_initial'),
    ]

    # The tables stay: the models' new app took them over (and renamed them).
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='followup',
                    name='invitation',
                ),
                migrations.RemoveField(
                    model_name='followup',
                    name='owner',
                ),
                migrations.RemoveField(
                    model_name='followupevent',
                    name='followup',
                ),
                migrations.RemoveField(
                    model_name='followupdigest',
                    name='owner',
                ),
                migrations.RemoveField(
                    model_name='followupevent',
                    name='actor',
                ),
                migrations.DeleteModel(
                    name='FollowUpThreshold',
                ),
                migrations.DeleteModel(
                    name='FollowUpWord',
                ),
                migrations.RemoveField(
                    model_name='teamservicelevel',
                    name='team',
                ),
                migrations.DeleteModel(
                    name='FollowUp',
                ),
                migrations.DeleteModel(
                    name='FollowUpDigest',
                ),
                migrations.DeleteModel(
                    name='FollowUpEvent',
                ),
                migrations.DeleteModel(
                    name='TeamServiceLevel',
                ),
            ],
        ),
    ]
