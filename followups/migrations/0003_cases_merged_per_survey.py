"""One case per answered survey: the cases opened for the questions of one survey
merge into one. It keeps the earliest case (its id, owner and link), the earliest
open, due, contact, notification and escalation times, the most advanced status, an
outcome if any case had one, the "Did we sort it out?" question if any case asked it,
every case's reason, and the history of all of them."""

from django.db import migrations

# The most advanced status wins: a case resolved for one question is resolved.
RANK = {"new": 0, "contacted": 1, "no_action": 2, "resolved": 3}
ORDER = ("csat", "ces", "nps")
EARLIEST = ("due_at", "first_contacted_at", "owner_notified_at", "escalated_at")
RECOVERY = ("recovery_token_hash", "recovery_sent_at", "recovery_answered_at")


def _score_text(kind, raw, points):
    return f"NPS {raw}" if kind == "nps" else f"{kind.upper()} {raw} of {points}"


def cases_per_survey(apps, schema_editor):
    FollowUp = apps.get_model("followups", "FollowUp")
    FollowUpEvent = apps.get_model("followups", "FollowUpEvent")
    Response = apps.get_model("surveys", "Response")
    groups = {}
    for case in FollowUp.objects.select_related("invitation").order_by("created_at", "pk"):
        groups.setdefault(case.invitation.survey_id, []).append(case)
    for survey_id, cases in groups.items():
        keep, others = cases[0], cases[1:]
        answers = sorted(
            Response.objects.filter(invitation__survey_id=survey_id).select_related("invitation"),
            key=lambda r: ORDER.index(r.invitation.kind),
        )
        keep.survey_id = survey_id
        keep.answers_seen = ", ".join(
            _score_text(r.invitation.kind, r.raw_score, r.invitation.scale_points)
            for r in answers
        )[:200]
        keep.reason = ", ".join(dict.fromkeys(c.reason for c in cases))[:200]
        keep.status = max((c.status for c in cases), key=RANK.__getitem__)
        keep.outcome = next((c.outcome for c in cases if c.outcome != "unknown"), keep.outcome)
        keep.updated_at = max(c.updated_at for c in cases)
        for name in EARLIEST:
            times = [getattr(c, name) for c in cases if getattr(c, name) is not None]
            setattr(keep, name, min(times) if times else None)
        asked = next((c for c in cases if c.recovery_sent_at is not None), None)
        if asked is not None:
            for name in RECOVERY:
                setattr(keep, name, getattr(asked, name))
        FollowUpEvent.objects.filter(followup__in=others).update(followup=keep)
        FollowUp.objects.filter(pk__in=[c.pk for c in others]).delete()
        keep.save()


def cases_per_question(apps, schema_editor):
    """Back: each case belongs to its survey's first answered question again."""
    FollowUp = apps.get_model("followups", "FollowUp")
    Invitation = apps.get_model("surveys", "Invitation")
    for case in FollowUp.objects.all():
        questions = Invitation.objects.filter(survey_id=case.survey_id, response__isnull=False)
        lead = min(questions, key=lambda q: ORDER.index(q.kind), default=None)
        case.invitation = lead
        case.survey = None
        case.save()


class Migration(migrations.Migration):
    dependencies = [("followups", "0002_followup_survey")]

    operations = [migrations.RunPython(cases_per_survey, cases_per_question)]
