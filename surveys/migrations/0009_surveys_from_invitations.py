"""Group the invitations of each ticket (the questions of its one survey email) into
a Survey: the email's state, sending, provider events, clicks and bot judgement move
to it once, its link tokens (the email's and the reminder's) become SurveyLink rows,
and the link fetches move to it. An NPS question left out when the email went out
(suppressed while its siblings were sent) is not a question of the survey: its row
goes, and the survey's reason says why.

Every ticket's invitations belong to one email: they were scheduled, claimed and sent
together (at most one per kind), and each email's questions shared one token."""

import secrets

from django.db import migrations
from django.db.models import Exists, OuterRef, Subquery

ORDER = ("csat", "ces", "nps")
# The survey's state from its questions' states: the first one any question has.
PRECEDENCE = (
    "answered",
    "sent",
    "expired",
    "sending",
    "scheduled",
    "failed",
    "suppressed",
    "cancelled",
)
EMAIL_FIELDS = (
    "customer_id",
    "agent_id",
    "team_id",
    "channel",
    "category",
    "locale",
    "send_after",
    "attempts",
    "claimed_at",
    "sent_at",
    "expires_at",
    "delivered_at",
    "bounced_at",
    "complained_at",
    "message_id",
    "reminder_message_id",
    "reminded_at",
    "first_clicked_at",
    "bot_suspect_at",
    "bot_suspect_reason",
)
BATCH = 2000


def _survey_of(ticket_id, rows, answered, commented):
    """The survey fields of one ticket's invitations, and the ids of questions that
    were left out of the email."""
    rows = sorted(rows, key=lambda r: (r["sent_at"] is None, ORDER.index(r["kind"]), r["id"]))
    lead = rows[0]
    states = {r["state"] for r in rows}
    state = next(s for s in PRECEDENCE if s in states)
    reason = lead["reason"]
    left_out = []
    if state != "suppressed":
        for r in rows:
            if r["state"] == "suppressed" and r["id"] not in answered:
                left_out.append(r["id"])
                reason = f"{r['kind'].upper()} left out: {r['reason']}"[:300]
    ids = {r["id"] for r in rows}
    fields = {name: lead[name] for name in EMAIL_FIELDS}
    return (
        dict(
            fields,
            ticket_id=ticket_id,
            state=state,
            reason=reason if state != "answered" or left_out else lead["reason"],
            link_key=secrets.token_hex(32),
            created_at=min(r["created_at"] for r in rows),
            answer_counted=bool(ids & answered),
            answer_commented=bool(ids & commented),
        ),
        left_out,
    )


def surveys_from_invitations(apps, schema_editor):
    Invitation = apps.get_model("surveys", "Invitation")
    Survey = apps.get_model("surveys", "Survey")
    SurveyLink = apps.get_model("surveys", "SurveyLink")
    LinkClick = apps.get_model("surveys", "LinkClick")
    Response = apps.get_model("surveys", "Response")
    tickets = list(Invitation.objects.order_by("ticket_id").values_list("ticket_id", flat=True).distinct())
    for start in range(0, len(tickets), BATCH):
        batch = tickets[start : start + BATCH]
        invitations = Invitation.objects.filter(ticket_id__in=batch)
        rows = list(invitations.values("id", "ticket_id", "kind", "state", "reason",
                                       "token_hash", "reminder_token_hash", "created_at",
                                       *EMAIL_FIELDS))
        counted = Response.objects.filter(invitation__in=invitations, held=False)
        answered = set(counted.values_list("invitation_id", flat=True))
        commented = set(counted.exclude(comment="").values_list("invitation_id", flat=True))
        by_ticket = {}
        for row in rows:
            by_ticket.setdefault(row["ticket_id"], []).append(row)
        surveys, dropped, links = [], [], {}
        for ticket_id, group in by_ticket.items():
            fields, left_out = _survey_of(ticket_id, group, answered, commented)
            surveys.append(Survey(**fields))
            dropped += left_out
            for row in group:
                for column, purpose in (("token_hash", "survey"), ("reminder_token_hash", "reminder")):
                    if row[column]:
                        links.setdefault(row[column], (ticket_id, purpose))
        Survey.objects.bulk_create(surveys)
        survey_ids = dict(
            Survey.objects.filter(ticket_id__in=batch).values_list("ticket_id", "id")
        )
        SurveyLink.objects.bulk_create(
            [
                SurveyLink(token_hash=hashed, survey_id=survey_ids[ticket_id], purpose=purpose)
                for hashed, (ticket_id, purpose) in links.items()
            ]
        )
        own_survey = Survey.objects.filter(ticket_id=OuterRef("ticket_id")).values("id")[:1]
        invitations.update(survey_id=Subquery(own_survey))
        of_invitation = Invitation.objects.filter(pk=OuterRef("invitation_id")).values("survey_id")
        LinkClick.objects.filter(invitation__ticket_id__in=batch).update(
            survey_id=Subquery(of_invitation[:1])
        )
        Invitation.objects.filter(pk__in=dropped).delete()


def invitations_from_surveys(apps, schema_editor):
    """Back: every question gets its survey's email fields and links again."""
    Invitation = apps.get_model("surveys", "Invitation")
    Survey = apps.get_model("surveys", "Survey")
    SurveyLink = apps.get_model("surveys", "SurveyLink")
    LinkClick = apps.get_model("surveys", "LinkClick")
    for survey in Survey.objects.iterator():
        links = dict(SurveyLink.objects.filter(survey=survey).values_list("purpose", "token_hash"))
        Invitation.objects.filter(survey=survey).update(
            ticket_id=survey.ticket_id,
            state=survey.state,
            reason=survey.reason,
            token_hash=links.get("survey", ""),
            reminder_token_hash=links.get("reminder", ""),
            answer_counted=False,
            answer_commented=False,
            **{name: getattr(survey, name) for name in EMAIL_FIELDS},
        )
        lead = Invitation.objects.filter(survey=survey).order_by("pk").first()
        if lead is not None:
            LinkClick.objects.filter(survey=survey).update(invitation=lead)
    Response = apps.get_model("surveys", "Response")
    counted = Response.objects.filter(invitation=OuterRef("pk"), held=False)
    Invitation.objects.update(
        answer_counted=Exists(counted), answer_commented=Exists(counted.exclude(comment=""))
    )
    Invitation.objects.update(survey=None)
    LinkClick.objects.update(survey=None)
    SurveyLink.objects.all().delete()
    Survey.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0008_survey")]

    operations = [migrations.RunPython(surveys_from_invitations, invitations_from_surveys)]
