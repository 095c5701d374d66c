"""The dashboard in the order a lead reads it: who needs help (agents and teams,
sortable, low scores marked, few answers apart, the change), what customers say, and
what the unhappy ones complain about."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from followups import services as followups
from metrics.rebuild import rollups_rebuild
from surveys.models import Response
from tests.factories import (
    CustomerFactory,
    InvitationFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = datetime(2026, 11, 20, 15, 0)


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(timezone.make_aware(TODAY), tick=False)


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss@support.example", is_staff=True))
    return client


def answer(agent, score, *, days_ago=1, comment="", locale="en", name="Anna Berg", team=None):
    at = timezone.make_aware(datetime.combine(TODAY.date() - timedelta(days=days_ago), time(10)))
    ticket = TicketFactory(
        assignee=agent,
        requester=CustomerFactory(name=name, locale=locale),
        **({"team": team} if team else {}),
    )
    invitation = InvitationFactory(
        ticket=ticket, kind="csat", state="answered", sent_at=at, send_after=at, locale=locale
    )
    return Response.objects.create(
        invitation=invitation, raw_score=score, score=score, comment=comment, answered_at=at
    )


def agent(name):
    first, last = name.split()
    return UserFactory(
        username=f"{first.lower()}@support.example", first_name=first, last_name=last
    )


def people(page):
    return [row.group.label for row in page.context["people_ranked"]]


def test_agents_are_sorted_lowest_csat_first_and_the_low_one_is_marked(staff_client):
    good, poor = agent("Lars Holm"), agent("Sofie Nielsen")
    for n in range(40):
        answer(good, 5 if n % 10 else 3)
        answer(poor, 2 if n % 5 else 5)
    rollups_rebuild()

    page = staff_client.get("/reports/")

    assert people(page) == ["Sofie Nielsen", "Lars Holm"]
    [low] = [row for row in page.context["people_ranked"] if row.low]
    assert (low.group.label, sorted(low.low)) == ("Sofie Nielsen", ["csat"])
    assert "▼ low" in page.content.decode()


def test_any_column_sorts_both_ways(staff_client):
    first, second = agent("Anna Aro"), agent("Bo Berg")
    for _ in range(12):
        answer(first, 5)
    for _ in range(20):
        answer(second, 4)
    rollups_rebuild()

    most = staff_client.get("/reports/?sort=answers&order=desc")
    fewest = staff_client.get("/reports/?sort=answers&order=asc")

    assert people(most) == ["Bo Berg", "Anna Aro"]
    assert people(fewest) == ["Anna Aro", "Bo Berg"]


def test_a_group_with_few_answers_is_listed_apart_not_ranked(staff_client):
    steady, new = agent("Lars Holm"), agent("Nils Nyman")
    for n in range(30):
        answer(steady, 4 if n % 3 else 2)
    for _ in range(3):
        answer(new, 1)  # 0 % from three answers: not the worst on that alone
    rollups_rebuild()

    page = staff_client.get("/reports/")

    assert people(page) == ["Lars Holm"]
    assert [row.group.label for row in page.context["people_apart"]] == ["Nils Nyman"]


def test_teams_toggle_and_open_and_overdue_cases(staff_client):
    billing = TeamFactory(name="Billing")
    lars = agent("Lars Holm")
    low = answer(lars, 1, team=billing)
    for _ in range(11):
        answer(lars, 5, team=billing)
    opened = timezone.now() - timedelta(days=3)
    followups.followup_flag(survey=low.invitation.survey, now=opened)
    rollups_rebuild()

    page = staff_client.get("/reports/?people=team")

    [row] = page.context["people_ranked"]
    assert (row.group.label, row.open, row.overdue) == ("Billing", 1, 1)


def test_the_change_against_the_period_before_is_shown(staff_client):
    lars = agent("Lars Holm")
    for _ in range(30):
        answer(lars, 5, days_ago=40)  # the 30 days before: 100 %
        answer(lars, 1, days_ago=2)  # now: 0 %
    rollups_rebuild()

    page = staff_client.get("/reports/")

    [row] = page.context["people_ranked"]
    assert (row.change.difference, row.change.significant) == (-100.0, True)


def test_comments_show_tone_first_name_language_agent_and_case(staff_client):
    lars = agent("Lars Holm")
    low = answer(lars, 1, comment="Nobody called back", locale="sv", name="Anna Berg")
    answer(lars, 5, comment="Lovely", name="Erik Holm")
    case = followups.followup_flag(survey=low.invitation.survey, now=timezone.now())
    rollups_rebuild()

    page = staff_client.get("/reports/")

    cards = {card.response.comment: card for card in page.context["comments"]}
    card = cards["Nobody called back"]
    assert (card.tone, card.first_name, card.agent) == ("low", "Anna", "Lars Holm")
    assert card.language == "Swedish"
    assert card.case_url == f"/followups/{case.pk}/"
    assert cards["Lovely"].tone == "high"


def test_complaint_terms_count_comments_and_link_to_them(staff_client):
    lars = agent("Lars Holm")
    for text in ("Waited two weeks for a refund", "Still waiting, nobody called",
                 "I waited and waited", "Waiting forever"):  # fmt: skip
        answer(lars, 1, comment=text)
    for _ in range(6):
        answer(lars, 5, comment="Quick and friendly refund")
    rollups_rebuild()

    page = staff_client.get("/reports/")
    [wait] = [row for row in page.context["complaints"] if row.term.key == "wait"]
    listed = staff_client.get(wait.href)

    assert (wait.term.low, wait.term.low_total, wait.term.other) == (4, 4, 0)
    assert "refund" not in [row.term.key for row in page.context["complaints"]]
    assert sorted(r.comment for r in listed.context["page"]) == [
        "I waited and waited",
        "Still waiting, nobody called",
        "Waited two weeks for a refund",
        "Waiting forever",
    ]


def test_a_month_is_a_7_day_rolling_line_and_a_quarter_is_weekly(staff_client):
    lars = agent("Lars Holm")
    answer(lars, 5, days_ago=10)  # 10 Nov
    answer(lars, 1, days_ago=8)  # 12 Nov
    answer(lars, 5, days_ago=25)  # 26 Oct: a day before the month, inside its first week
    rollups_rebuild()

    month = staff_client.get("/reports/?from=2026-11-01&to=2026-11-20")
    quarter = staff_client.get("/reports/?from=2026-08-23&to=2026-11-20")

    csat = month.context["trends"][0].series[0].points
    values = [p.value for p in csat]
    assert len(values) == 20
    assert values[0] == 100.0  # 1 Nov counts 26 Oct-1 Nov
    assert values[1] is None  # 2 Nov: 27 Oct-2 Nov, no answers
    assert values[9:11] == [100.0, 100.0]  # 10 and 11 Nov: the answer of the 10th
    assert values[11:16] == [50.0] * 5  # 12-16 Nov: both
    assert values[16:18] == [0.0, 0.0]  # 17-18 Nov: the 12th's alone
    assert values[18] is None
    assert len(quarter.context["trends"][0].x_labels) == 14  # Monday weeks
