"""The funnel's two new steps, counted from the surveys: answered by the rating link's
click alone, and completed on the page (surveys/0019 set completed_at for every answer
before the click counted)."""

from collections import Counter

from django.db import migrations
from django.utils import timezone

STEPS = ("by_click", "completed")


def funnel_steps_count(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    InvitationRollup = apps.get_model("metrics", "InvitationRollup")
    counts = Counter()
    answered = Survey.objects.filter(
        sent_at__isnull=False,
        bounced_at__isnull=True,
        complained_at__isnull=True,
        answer_counted=True,
    )
    for survey in answered.iterator(chunk_size=5000):
        step = "by_click" if survey.completed_at is None else "completed"
        key = (
            timezone.localdate(survey.sent_at),
            survey.agent_id,
            survey.team_id,
            survey.channel,
            survey.category,
        )
        counts[(*key, step)] += 1
    InvitationRollup.objects.filter(step__in=STEPS).delete()
    InvitationRollup.objects.bulk_create(
        [
            InvitationRollup(
                day=day,
                agent_id=agent,
                team_id=team,
                channel=channel,
                category=category,
                step=step,
                count=count,
            )
            for (day, agent, team, channel, category, step), count in counts.items()
        ],
        batch_size=5000,
    )


def funnel_steps_forget(apps, schema_editor):
    apps.get_model("metrics", "InvitationRollup").objects.filter(step__in=STEPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0012_categories_folded"),
        ("surveys", "0019_survey_completed"),
    ]

    operations = [migrations.RunPython(funnel_steps_count, funnel_steps_forget)]
