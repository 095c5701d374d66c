"""The demo_data command: what a new user sees on their first look."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from followups.models import FollowUp
from metrics.check import rollups_differences
from metrics.models import InvitationRollup, ScoreRollup
from surveys import tasks
from surveys.models import Agent, Category, Customer, Invitation, Response, Survey, Team, Ticket

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday morning
LANGUAGES = {"en", "sv", "nb", "da", "fi", "fy"}


@pytest.fixture
def demo(time_machine):
    """Run the command with a small demo, time frozen; returns what it printed."""
    time_machine.move_to(NOW, tick=False)

    def run(*args):
        out = StringIO()
        call_command("demo_data", "--tickets", "200", *args, stdout=out)
        return out.getvalue()

    return run


def _counts():
    models = (Ticket, Customer, Invitation, Response, FollowUp, ScoreRollup, InvitationRollup)
    return {model.__name__: model.objects.count() for model in models}


def test_demo_data_prints_a_summary(demo):
    out = demo()

    assert out.startswith("Demo data: 200 tickets, ")
    assert len(out.strip().splitlines()) == 1


def test_demo_data_surveys_customers_in_all_six_languages(demo):
    demo()

    assert set(Customer.objects.values_list("locale", flat=True)) == LANGUAGES
    sent = Survey.objects.filter(sent_at__isnull=False)
    assert set(sent.values_list("locale", flat=True)) == LANGUAGES


def test_demo_data_has_two_teams_of_three_agents_with_a_lead(demo):
    demo()

    teams = Team.objects.order_by("name")
    assert [t.name for t in teams] == ["Billing", "Technical support"]
    assert Agent.objects.count() == 6
    for team in teams:
        assert Agent.objects.filter(team=team).count() == 3
        assert Agent.objects.filter(team=team, user=team.lead).exists()


def test_demo_data_response_rate_is_plausible(demo):
    demo()

    delivered = Survey.objects.filter(sent_at__isnull=False)
    answered = delivered.filter(state=Survey.State.ANSWERED)
    assert answered.count() == Response.objects.filter(invitation__kind="csat").count()
    assert 0.25 <= answered.count() / delivered.count() <= 0.55


def test_demo_data_funnel_is_coherent_clicked_at_least_answered(demo):
    demo()

    delivered = Survey.objects.filter(sent_at__isnull=False)
    answered = delivered.filter(state=Survey.State.ANSWERED)
    clicked = delivered.filter(first_clicked_at__isnull=False)
    assert not answered.filter(first_clicked_at__isnull=True).exists()
    assert clicked.count() > answered.count()
    assert not clicked.filter(first_clicked_at__lt=F("sent_at")).exists()


def test_demo_data_ticket_categories_are_keys_with_names(demo):
    demo()

    keys = set(Ticket.objects.values_list("category", flat=True))
    assert "returns" in keys
    assert dict(Category.objects.values_list("key", "name"))["returns"] == "Returns"


def test_demo_data_leaves_open_followups_owned_by_agents(demo):
    demo()

    open_cases = FollowUp.objects.filter(status__in=FollowUp.OPEN_STATUSES)
    assert open_cases.filter(owner__agent__isnull=False).exists()
    assert not FollowUp.objects.filter(owner_notified_at__isnull=True).exists()
    assert not Response.objects.filter(processed_at__isnull=True).exists()


def test_demo_data_rollups_match_raw_rows(demo):
    demo()

    assert ScoreRollup.objects.exists()
    assert rollups_differences() == []


def test_demo_data_asks_nps_at_most_every_90_days(demo):
    demo()

    nps = Invitation.objects.filter(kind="nps", survey__sent_at__isnull=False).order_by(
        "survey__sent_at"
    )
    last_sent = {}
    for invitation in nps:
        previous = last_sent.get(invitation.survey.customer_id)
        assert previous is None or invitation.survey.sent_at - previous >= timedelta(days=90)
        last_sent[invitation.survey.customer_id] = invitation.survey.sent_at


def test_demo_data_survey_emails_go_out_within_the_hour(demo, time_machine, mailoutbox):
    demo()
    scheduled = Survey.objects.filter(state=Survey.State.SCHEDULED)
    tickets = set(scheduled.values_list("ticket_id", flat=True))

    tasks.invitations_sweep()
    sent_at_start = len(mailoutbox)
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    tasks.invitations_sweep()

    assert sent_at_start == 0
    assert len(tickets) >= 3
    assert len(mailoutbox) == len(tickets)
    assert not Invitation.objects.filter(survey__state=Survey.State.SCHEDULED).exists()


def test_demo_data_twice_without_force_raises_and_changes_nothing(demo):
    demo()
    before = _counts()

    with pytest.raises(CommandError, match="--force"):
        demo()

    assert _counts() == before


def test_demo_data_force_generates_the_same_demo_again(demo):
    demo()
    before = _counts()
    scores = list(Response.objects.order_by("answered_at").values_list("raw_score", "comment"))

    demo("--force")

    assert _counts() == before
    assert list(Response.objects.order_by("answered_at").values_list("raw_score", "comment")) == (
        scores
    )


def test_demo_data_refuses_a_database_with_real_tickets_even_with_force(demo):
    customer = Customer.objects.create(email="anna@example.se")
    Ticket.objects.create(
        source="zendesk", external_id="1", status="open", requester=customer, created_at=NOW
    )

    with pytest.raises(CommandError, match="not demo data"):
        demo("--force")

    assert Ticket.objects.count() == 1
