"""Link fetches are judged by the worker (surveys.clicks.clicks_judge); the ones kept
before were judged when they came in."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0014_queued_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="linkclick",
            name="judged_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            "UPDATE surveys_linkclick SET judged_at = at", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.AddIndex(
            model_name="linkclick",
            index=models.Index(
                condition=models.Q(("judged_at__isnull", True)),
                fields=["at"],
                name="linkclick_unjudged",
            ),
        ),
    ]
