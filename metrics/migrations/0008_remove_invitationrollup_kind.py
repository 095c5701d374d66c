"""The funnel counts survey emails, not questions: its rollup loses the question's
kind and is counted again from the surveys (surveys/0009 made them)."""

from collections import Counter

from django.db import migrations
from django.utils import timezone


def _steps(survey):
    """The funnel steps a survey reached (as metrics.funnel defines them today)."""
    delivered = survey.bounced_at is None and survey.complained_at is None
    steps = ["sent"]
    if delivered:
        steps.append("delivered")
        if survey.first_clicked_at is not None:
            steps.append("clicked")
        if survey.answer_counted:
            steps.append("answered")
        if survey.answer_commented:
            steps.append("commented")
    if survey.bot_suspect_at is not None:
        steps.append("bot")
    return steps


def funnel_recount(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    InvitationRollup = apps.get_model("metrics", "InvitationRollup")
    counts = Counter()
    for survey in Survey.objects.filter(sent_at__isnull=False).iterator(chunk_size=5000):
        key = (
            timezone.localdate(survey.sent_at),
            survey.agent_id,
            survey.team_id,
            survey.channel,
            survey.category,
        )
        for step in _steps(survey):
            counts[(*key, step)] += 1
    InvitationRollup.objects.all().delete()
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


def funnel_forget(apps, schema_editor):
    apps.get_model("metrics", "InvitationRollup").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0007_followups_moved_out"),
        ("surveys", "0010_invitation_is_a_question"),
    ]

    # Backwards the rows go: the nightly rebuild (or manage.py rollups_rebuild)
    # counts them per question again.
    operations = [
        migrations.RemoveField(model_name="invitationrollup", name="kind"),
        migrations.RunPython(funnel_recount, funnel_forget),
    ]
