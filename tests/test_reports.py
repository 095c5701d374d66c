"""The staff report pages: who may open them, and what they say."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from metrics import formulas
from metrics.models import BusinessFigures
from metrics.rebuild import rollups_rebuild
from metrics.selectors import ReportFilters
from metrics.tickets import service_by_month, service_metrics
from surveys.models import Category, Response
from tests.factories import AgentFactory, InvitationFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
PAGES = [
    "/reports/",
    "/reports/monthly/",
    "/reports/compare/?change=2026-11-10&days=30",
    "/reports/business/",
    "/reports/exports/",
    "/reports/responses/",
    "/reports/responses.csv",
    "/reports/responses.xlsx",
    "/reports/tables/agents.csv",
    "/reports/tables/monthly.xlsx",
]


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(timezone.make_aware(datetime(2026, 11, 20, 15, 0)), tick=False)


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss@support.example", is_staff=True))
    return client


def answer(*, kind="csat", score=5, days_ago=1, channel="email", scale=5, comment="", agent=None):
    """One answered invitation, `days_ago` days before TODAY."""
    day = TODAY - timedelta(days=days_ago)
    at = timezone.make_aware(datetime.combine(day, time(10, 0)))
    ticket = TicketFactory(channel=channel, **({"assignee": agent} if agent else {}))
    invitation = InvitationFactory(
        ticket=ticket, kind=kind, state="answered", scale_points=scale, sent_at=at, send_after=at
    )
    return Response.objects.create(
        invitation=invitation, raw_score=score, score=score, comment=comment, answered_at=at
    )


@pytest.mark.parametrize("url", PAGES)
def test_report_pages_send_anonymous_visitors_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


# An agent may open the answers behind their own scores (tests/test_scores.py).
AGENTS_TOO = ("/reports/responses/", "/reports/responses.csv", "/reports/responses.xlsx")


@pytest.mark.parametrize("url", [page for page in PAGES if page not in AGENTS_TOO])
def test_report_pages_forbid_agents(client, url):
    client.force_login(AgentFactory().user)

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_report_pages_open_for_staff(staff_client, url):
    answer(score=4)
    rollups_rebuild()

    response = staff_client.get(url)

    assert response.status_code == 200


def test_dashboard_shows_csat_with_its_formula(staff_client):
    for score in (5, 4, 4, 2):
        answer(score=score)
    rollups_rebuild()

    page = staff_client.get("/reports/").content.decode()

    assert 'title="75.0 % = 3 satisfied / 4 answers"' in page


def test_dashboard_marks_groups_with_too_few_answers(staff_client):
    answer(score=5)
    rollups_rebuild()

    page = staff_client.get("/reports/").content.decode()

    assert "few answers" in page


def test_dashboard_filters_by_channel(staff_client):
    answer(score=5, channel="chat")
    answer(score=1, channel="email")
    rollups_rebuild()

    page = staff_client.get("/reports/?channel=chat").content.decode()

    assert 'title="100.0 % = 1 satisfied / 1 answers"' in page


def test_dashboard_compares_with_the_previous_period(staff_client):
    answer(score=5, days_ago=1)
    answer(score=1, days_ago=40)
    rollups_rebuild()

    response = staff_client.get("/reports/")

    [csat] = [h for h in response.context["headlines"] if h.metric == "csat"]
    assert (csat.score.value, csat.previous.value, csat.change) == (100.0, 0.0, 100.0)


def test_dashboard_number_links_to_the_responses_behind_it(staff_client):
    satisfied = answer(score=5)
    answer(score=2)
    rollups_rebuild()
    [csat] = [h for h in staff_client.get("/reports/").context["headlines"] if h.metric == "csat"]

    listed = staff_client.get(csat.links["numerator"]).context["page"].object_list

    assert [r.pk for r in listed] == [satisfied.pk]


def test_dashboard_comments_filter_by_score(staff_client):
    answer(score=1, comment="Nobody called back")
    answer(score=5, comment="Lovely")
    rollups_rebuild()

    response = staff_client.get("/reports/?comments=low")

    assert [card.response.comment for card in response.context["comments"]] == [
        "Nobody called back"
    ]


def test_monthly_report_fills_the_formulas_with_this_months_inputs(staff_client):
    for score in (5, 5, 3):
        answer(score=score)
    rollups_rebuild()

    page = staff_client.get("/reports/monthly/").content.decode()

    assert "2 / 3 \u00d7 100 = <strong>66.67 %</strong>" in page


def test_monthly_report_opens_on_the_months_with_data(staff_client):
    answer(score=5, days_ago=40)  # October
    answer(score=4, days_ago=1)
    rollups_rebuild()

    response = staff_client.get("/reports/monthly/")

    assert [row.label for row in response.context["rows"]] == ["2026-10", "2026-11"]


def test_monthly_report_without_data_shows_this_month_only(staff_client):
    response = staff_client.get("/reports/monthly/")

    assert [row.label for row in response.context["rows"]] == ["2026-11"]


def test_compare_says_a_big_change_is_larger_than_chance(staff_client):
    for n in range(40):
        answer(score=1, days_ago=20 + n % 5)
        answer(score=5, days_ago=1 + n % 5)
    rollups_rebuild()

    response = staff_client.get("/reports/compare/?change=2026-11-10&days=10")

    [csat] = [row for row in response.context["rows"] if row.metric == "csat"]
    assert (csat.before.value, csat.after.value, csat.comparison.significant) == (0.0, 100.0, True)


def test_business_figures_form_saves_a_month_and_shows_crr(staff_client):
    form = {"month": "2026-10", "customers_start": 100, "customers_end": 90,
            "customers_new": 15, "sales_marketing_spend": "10000",
            "yearly_revenue_per_customer": "120", "customer_years": "3"}  # fmt: skip

    saved = staff_client.post("/reports/business/", form)

    figures = BusinessFigures.objects.get()
    assert saved.status_code == 302
    assert (figures.month, figures.sales_marketing_spend) == (date(2026, 10, 1), Decimal("10000"))
    assert "75.0 %" in staff_client.get("/reports/business/").content.decode()


def test_business_figures_form_rejects_more_new_than_end(staff_client):
    form = {"month": "2026-10", "customers_start": 10, "customers_end": 5, "customers_new": 8,
            "sales_marketing_spend": "1", "yearly_revenue_per_customer": "1",
            "customer_years": "1"}  # fmt: skip

    response = staff_client.post("/reports/business/", form)

    assert response.status_code == 200
    assert BusinessFigures.objects.count() == 0


def test_responses_list_filters_positive_answers(staff_client):
    answer(score=5)
    answer(score=3)
    answer(kind="nps", score=10, scale=11)

    response = staff_client.get("/reports/responses/?kind=csat&score_class=positive")

    assert [r.score for r in response.context["page"].object_list] == [5]


def _ticket(minutes, *, status="solved", replies=1, reopens=0):
    created = timezone.make_aware(datetime(2026, 11, 2, 9, 0))
    return TicketFactory(
        created_at=created,
        first_response_at=created + timedelta(minutes=minutes),
        solved_at=created + timedelta(hours=minutes) if status == "solved" else None,
        status=status,
        agent_replies=replies,
        reopens=reopens,
    )


def test_service_metrics_count_resolution_rate_and_fcr_over_the_same_tickets():
    _ticket(10)
    _ticket(20, replies=3)
    _ticket(30, reopens=1)
    _ticket(40, status="open")

    result = service_metrics(filters=ReportFilters(start=date(2026, 11, 1), end=TODAY))

    assert (result.tickets, result.solved, result.one_contact) == (4, 3, 1)
    assert (result.resolution_rate, result.fcr) == (75.0, 100 / 3)


def test_service_metrics_by_month_give_the_formulas_durations():
    for minutes in (10, 20, 30, 40, 100):
        _ticket(minutes)

    month = service_by_month(filters=ReportFilters(start=date(2026, 11, 1), end=TODAY))

    expected = formulas.durations([600, 1200, 1800, 2400, 6000])
    got = month[date(2026, 11, 1)].first_response
    assert (got.count, got.mean, got.median) == (5, expected.mean, expected.median)
    assert got.p90 == pytest.approx(expected.p90)


def test_a_category_is_shown_by_the_name_an_admin_gave_it(staff_client):
    Category.objects.create(key="returns", name="Returns and refunds")
    response = answer(score=5)
    Response.objects.filter(pk=response.pk).update(category="returns")
    rollups_rebuild()

    page = staff_client.get("/reports/")

    [(_name, _label, _heading, _table, rows)] = [
        t for t in page.context["tables"] if t[0] == "category"
    ]
    assert [row.label for row in rows] == ["Returns and refunds"]
    assert ("returns", "Returns and refunds") in page.context["form"].fields["category"].choices
