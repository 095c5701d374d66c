"""The migration that makes the survey a record of its own (surveys 0008-0010, metrics
0008): the invitations of each ticket become one Survey with its questions, and every
answer, revision, click, case and link comes across. Built with the migrations as
they were, on a database with surveys in every state."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum

from followups.models import FollowUp
from metrics.check import rollups_differences
from metrics.models import InvitationRollup
from surveys.models import Invitation, LinkClick, Response, ResponseRevision, Survey, SurveyLink
from surveys.tokens import token_hash
from tests.conftest import NOW

# Transactional: SQLite alters tables only outside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("surveys", "0007_integrations_moved_out"),
    ("metrics", "0007_followups_moved_out"),
    ("followups", "0001_initial"),
    ("integrations", "0001_initial"),
]
SENT = NOW - timedelta(days=5)

# Each ticket's invitations as they were: kind -> (state, token, reminder token).
# The answers, clicks and provider events are added below.
TICKETS = {
    "answered": {"csat": "answered", "ces": "answered", "nps": "sent"},
    "changed": {"csat": "answered"},
    "held": {"csat": "answered", "ces": "sent"},
    "reminded": {"csat": "sent", "ces": "sent"},
    "nps-left-out": {"csat": "sent", "ces": "sent", "nps": "suppressed"},
    "expired": {"csat": "expired", "ces": "expired"},
    "bounced": {"csat": "sent"},
    "suppressed": {"csat": "suppressed"},
    "scheduled": {"csat": "scheduled", "ces": "scheduled", "nps": "scheduled"},
    "sending": {"csat": "sending", "ces": "sending"},
    "cancelled": {"csat": "cancelled", "ces": "cancelled"},
    "failed": {"csat": "failed"},
    "imported": {"csat": "answered", "nps": "answered"},
}
MAILED = {"answered", "changed", "held", "reminded", "nps-left-out", "expired", "bounced"}


def _old_database(apps):
    """The tickets above through the models as they were; returns what to look for."""
    models = {
        name: apps.get_model(app, name)
        for app, name in [
            ("surveys", "Customer"),
            ("surveys", "Ticket"),
            ("surveys", "Invitation"),
            ("surveys", "Response"),
            ("surveys", "ResponseRevision"),
            ("surveys", "LinkClick"),
            ("followups", "FollowUp"),
        ]
    }
    Invitation, Response = models["Invitation"], models["Response"]
    tokens = {}
    for number, (name, kinds) in enumerate(TICKETS.items()):
        customer = models["Customer"].objects.create(email=f"{name}@example.se", locale="sv")
        ticket = models["Ticket"].objects.create(
            source="zendesk",
            external_id=name,
            status="solved",
            requester=customer,
            channel="email",
            category="returns",
            created_at=SENT - timedelta(days=1),
            solved_at=SENT - timedelta(hours=1),
        )
        mailed = name in MAILED
        token = f"link-token-{number}" if mailed and name != "imported" else ""
        reminder = f"reminder-token-{number}" if name == "reminded" else ""
        tokens[name] = (token, reminder)
        for kind, state in kinds.items():
            left_out = state == "suppressed" and name == "nps-left-out"
            Invitation.objects.create(
                ticket=ticket,
                customer=customer,
                kind=kind,
                state=state,
                reason={"suppressed": "customer opted out", "failed": "550 no such user"}.get(
                    name, "imported" if name == "imported" else ""
                )
                if not left_out
                else "NPS asked in the last 90 days",
                scale_points={"csat": 5, "ces": 7, "nps": 11}[kind],
                channel="email",
                category="returns",
                locale="sv",
                send_after=SENT,
                attempts=1 if mailed else 0,
                claimed_at=SENT if mailed or name == "sending" else None,
                sent_at=SENT if (mailed or name == "imported") and not left_out else None,
                expires_at=SENT + timedelta(days=(1 if name == "expired" else 30))
                if mailed
                else None,
                bounced_at=SENT + timedelta(minutes=5) if name == "bounced" else None,
                delivered_at=SENT + timedelta(minutes=1) if name == "answered" else None,
                message_id=f"<{name}@kundpuls>" if mailed else "",
                reminder_message_id="<reminder@kundpuls>" if reminder else "",
                reminded_at=SENT + timedelta(days=3) if reminder else None,
                token_hash=token_hash(token) if token and not left_out else "",
                reminder_token_hash=token_hash(reminder) if reminder else "",
                first_clicked_at=SENT + timedelta(hours=1) if name == "answered" else None,
                bot_suspect_at=SENT + timedelta(seconds=3) if name == "expired" else None,
                bot_suspect_reason="fetched 2 s after sending" if name == "expired" else "",
                created_at=SENT - timedelta(hours=1),
            )
    for name, kind, score, held, comment in [
        ("answered", "csat", 1, False, "Nobody called back"),
        ("answered", "ces", 2, False, ""),
        ("changed", "csat", 4, False, "Better now"),
        ("held", "csat", 5, True, ""),
        ("imported", "csat", 4, False, ""),
        ("imported", "nps", 9, False, ""),
    ]:
        invitation = Invitation.objects.get(ticket__external_id=name, kind=kind)
        response = Response.objects.create(
            invitation=invitation,
            raw_score=score,
            score=score,
            comment=comment,
            held=held,
            answered_at=SENT + timedelta(hours=2),
            kind=kind,
            scale_points=invitation.scale_points,
            channel="email",
            category="returns",
        )
        Invitation.objects.filter(pk=invitation.pk).update(
            answer_counted=not held, answer_commented=not held and bool(comment)
        )
        for raw in [2, score] if name == "changed" else [score]:
            models["ResponseRevision"].objects.create(response=response, raw_score=raw)
    lead = Invitation.objects.get(ticket__external_id="answered", kind="csat")
    for link in ("rating", "survey"):
        models["LinkClick"].objects.create(invitation=lead, link=link, method="GET", at=NOW)
    scanned = Invitation.objects.get(ticket__external_id="expired", kind="csat")
    models["LinkClick"].objects.create(
        invitation=scanned, link="honeypot", method="HEAD", at=NOW, automated_reason="honeypot"
    )
    models["FollowUp"].objects.create(invitation=lead, reason="CSAT 1 of 5", created_at=NOW)
    return tokens


def _migrated_from_the_old_shape():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    tokens = _old_database(apps)
    Old = apps.get_model("surveys", "Invitation")
    before = {
        "invitations": Counter(Old.objects.values_list("state", flat=True)),
        "answers": apps.get_model("surveys", "Response").objects.count(),
        "revisions": apps.get_model("surveys", "ResponseRevision").objects.count(),
        "clicks": apps.get_model("surveys", "LinkClick").objects.count(),
        "cases": apps.get_model("followups", "FollowUp").objects.count(),
    }
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    return tokens, before


def test_each_tickets_invitations_become_one_survey_in_the_state_of_its_email():
    _tokens, before = _migrated_from_the_old_shape()

    states = dict(Survey.objects.values_list("ticket__external_id", "state"))
    assert states == {
        "answered": "answered",
        "changed": "answered",
        "held": "answered",
        "reminded": "sent",
        "nps-left-out": "sent",
        "expired": "expired",
        "bounced": "sent",
        "suppressed": "suppressed",
        "scheduled": "scheduled",
        "sending": "sending",
        "cancelled": "cancelled",
        "failed": "failed",
        "imported": "answered",
    }
    # Every question but the one NPS left out of its email is there, under its survey.
    assert sum(before["invitations"].values()) == 25
    assert Invitation.objects.count() == 24
    for name, kinds in TICKETS.items():
        asked = {k for k, state in kinds.items() if name != "nps-left-out" or k != "nps"}
        survey = Survey.objects.get(ticket__external_id=name)
        assert set(survey.invitations.values_list("kind", flat=True)) == asked, name
    left_out = Survey.objects.get(ticket__external_id="nps-left-out")
    assert left_out.reason == "NPS left out: NPS asked in the last 90 days"
    assert Survey.objects.get(ticket__external_id="failed").reason == "550 no such user"


def test_every_answer_revision_click_and_case_comes_across():
    _tokens, before = _migrated_from_the_old_shape()

    after = {
        "answers": Response.objects.count(),
        "revisions": ResponseRevision.objects.count(),
        "clicks": LinkClick.objects.count(),
        "cases": FollowUp.objects.count(),
    }
    assert (
        after
        == {name: before[name] for name in after}
        == {
            "answers": 6,
            "revisions": 7,
            "clicks": 3,
            "cases": 1,
        }
    )
    answered = Survey.objects.get(ticket__external_id="answered")
    assert dict(
        Response.objects.filter(invitation__survey=answered).values_list(
            "invitation__kind", "raw_score"
        )
    ) == {"csat": 1, "ces": 2}
    changed = Response.objects.get(invitation__survey__ticket__external_id="changed")
    assert list(changed.revisions.values_list("raw_score", flat=True)) == [2, 4]
    assert set(answered.clicks.values_list("link", flat=True)) == {"rating", "survey"}
    assert FollowUp.objects.get().survey == answered
    assert (answered.first_clicked_at, answered.delivered_at) == (
        SENT + timedelta(hours=1),
        SENT + timedelta(minutes=1),
    )
    expired = Survey.objects.get(ticket__external_id="expired")
    assert (expired.bot_suspect_reason, expired.clicks.get().link) == (
        "fetched 2 s after sending",
        "honeypot",
    )
    bounced = Survey.objects.get(ticket__external_id="bounced")
    assert (bounced.bounced_at, bounced.message_id) == (
        SENT + timedelta(minutes=5),
        "<bounced@kundpuls>",
    )
    # The copies the funnel counts from: an answer that counts, one with a comment.
    copies = dict(
        Survey.objects.filter(state="answered").values_list("ticket__external_id", "answer_counted")
    )
    assert copies == {"answered": True, "changed": True, "held": False, "imported": True}
    assert Survey.objects.filter(answer_commented=True).count() == 2


def test_the_links_of_sent_emails_and_reminders_keep_working(client, time_machine):
    tokens, _before = _migrated_from_the_old_shape()
    time_machine.move_to(NOW, tick=False)

    assert SurveyLink.objects.count() == 8  # seven survey emails and one reminder
    for name in ("reminded", "nps-left-out", "bounced"):
        token, _reminder = tokens[name]
        assert client.get(f"/s/{token}/").status_code == 200, name
    assert client.get(f"/s/{tokens['reminded'][1]}/?csat=4").status_code == 200
    answered = client.get(f"/s/{tokens['answered'][0]}/")
    assert b'value="1" checked' in answered.content  # the answer given shows
    assert client.get(f"/s/{tokens['expired'][0]}/").status_code == 410


def test_the_funnel_counts_survey_emails_after_the_migration():
    _migrated_from_the_old_shape()

    steps = dict(
        InvitationRollup.objects.values("step").annotate(n=Sum("count")).values_list("step", "n")
    )
    assert steps["sent"] == 8  # seven emails and the import, not their 15 questions
    assert (steps["delivered"], steps["clicked"], steps["answered"], steps["bot"]) == (7, 1, 3, 1)
    assert not [d for d in rollups_differences() if d.startswith("funnel")]


@pytest.mark.django_db(transaction=True)
def test_the_category_migration_folds_case_and_spacing_and_names_each_once():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from surveys.models import Category, Ticket
    from tests.factories import TicketFactory

    executor = MigrationExecutor(connection)
    executor.migrate([("metrics", "0011_digests"), ("surveys", "0017_reasons")])
    for category in ("Returns", "Returns", "returns ", "Shipping"):
        TicketFactory(category=category)

    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert sorted(Ticket.objects.values_list("category", flat=True)) == [
        "returns", "returns", "returns", "shipping",
    ]  # fmt: skip
    assert sorted(Category.objects.values_list("key", "name")) == [
        ("returns", "Returns"), ("shipping", "Shipping"),
    ]  # fmt: skip
