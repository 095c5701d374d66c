"""Agents see their own scores, team leads their team's: the same exact counts as the
admin reports, and the answers behind each number, never anyone else's."""

from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from metrics.rebuild import rollups_rebuild
from surveys.models import Response
from tests.factories import AgentFactory, InvitationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime(2026, 11, 20).date()


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(timezone.make_aware(datetime(2026, 11, 20, 15, 0)), tick=False)


@pytest.fixture
def cast():
    lead = UserFactory(username="lead@support.example")
    billing = TeamFactory(name="Billing", lead=lead)
    other_lead = UserFactory(username="lead2@support.example")
    shipping = TeamFactory(name="Shipping", lead=other_lead)
    a = AgentFactory(user__username="a@support.example", user__first_name="Alva", team=billing)
    b = AgentFactory(user__username="b@support.example", user__first_name="Bo", team=billing)
    c = AgentFactory(user__username="c@support.example", user__first_name="Cia", team=shipping)
    return SimpleNamespace(
        lead=lead, billing=billing, shipping=shipping, a=a.user, b=b.user, c=c.user
    )


def answer(agent, team, score, *, days_ago=1, comment=""):
    at = timezone.make_aware(datetime.combine(TODAY - timedelta(days=days_ago), time(10)))
    invitation = InvitationFactory(
        ticket__assignee=agent, ticket__team=team, state="answered", sent_at=at, send_after=at
    )
    return Response.objects.create(
        invitation=invitation, raw_score=score, score=score, comment=comment, answered_at=at
    )


@pytest.fixture
def answers(cast):
    for score in (5, 5, 1):
        answer(cast.a, cast.billing, score, comment=f"A gave {score}")
    answer(cast.b, cast.billing, 1, comment="B was slow")
    answer(cast.c, cast.shipping, 2, comment="C's customer")
    rollups_rebuild()


def csat(page):
    line = next(h for h in page.context["headlines"] if h.metric == "csat")
    return line.score.numerator, line.score.denominator


def test_it_shows_an_agent_only_their_own_scores(client, cast, answers):
    client.force_login(cast.a)

    page = client.get("/scores/")

    assert page.status_code == 200
    assert csat(page) == (2, 3)
    assert "A gave 5" in page.content.decode()
    assert "B was slow" not in page.content.decode()
    assert "agents" not in page.context


def test_it_shows_a_lead_the_team_with_a_row_per_agent(client, cast, answers):
    client.force_login(cast.lead)

    page = client.get("/scores/")

    rows = {row.label: row.scores["csat"].denominator for row in page.context["agents"]}
    assert csat(page) == (2, 4)
    assert {label.split()[0]: n for label, n in rows.items()} == {"Alva": 3, "Bo": 1}
    assert "C's customer" not in page.content.decode()


def test_it_refuses_a_team_the_lead_does_not_lead(client, cast, answers):
    client.force_login(cast.lead)

    assert client.get(f"/scores/?team={cast.shipping.pk}").status_code == 404


def test_it_counts_only_the_period_asked_for(client, cast, answers):
    answer(cast.a, cast.billing, 5, days_ago=60)
    rollups_rebuild()
    client.force_login(cast.a)

    assert csat(client.get("/scores/?days=30")) == (2, 3)
    assert csat(client.get("/scores/?days=90")) == (3, 4)
    assert csat(client.get("/scores/?days=7000")) == (2, 3)


def test_it_sends_admins_to_the_reports_and_strangers_to_login(client, cast):
    assert client.get("/scores/")["Location"].startswith("/login/")

    client.force_login(UserFactory(username="boss@support.example", is_staff=True))

    assert client.get("/scores/")["Location"] == "/reports/"


def test_it_links_an_agent_to_their_own_answers_only(client, cast, answers):
    client.force_login(cast.a)
    line = next(h for h in client.get("/scores/").context["headlines"] if h.metric == "csat")

    page = client.get(line.links["denominator"])

    comments = [r.comment for r in page.context["page"]]
    assert page.status_code == 200
    assert sorted(comments) == ["A gave 1", "A gave 5", "A gave 5"]


def test_it_keeps_an_agent_to_their_own_answers_whatever_the_url_asks(client, cast, answers):
    client.force_login(cast.a)

    page = client.get(f"/reports/responses/?agent={cast.b.pk}&from=2026-01-01&to=2026-11-20")
    export = client.get(f"/reports/responses.csv?agent={cast.c.pk}&from=2026-01-01&to=2026-11-20")

    assert page.status_code == 404
    assert export.status_code == 404


def test_it_lets_a_lead_open_the_team_answers_but_not_another_team(client, cast, answers):
    client.force_login(cast.lead)

    team = client.get(f"/reports/responses/?team={cast.billing.pk}&from=2026-01-01&to=2026-11-20")
    other = client.get(f"/reports/responses/?team={cast.shipping.pk}&from=2026-01-01&to=2026-11-20")

    assert sorted(r.comment for r in team.context["page"]) == [
        "A gave 1",
        "A gave 5",
        "A gave 5",
        "B was slow",
    ]
    assert other.status_code == 404


def test_it_offers_a_lead_only_the_team_and_its_agents_to_filter_by(client, cast, answers):
    client.force_login(cast.lead)

    form = client.get("/reports/responses/").context["form"]

    assert [name for _pk, name in form.fields["team"].choices] == ["All my teams", "Billing"]
    assert len(form.fields["agent"].choices) == 3  # All, Alva, Bo
