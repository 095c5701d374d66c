"""The report by email: a week with beat's sweep run every three hours gives each
subscriber one digest per period, in their language, with the dashboard's figures."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from followups.models import StaffSettings
from metrics.digest import digests_sweep, period_last_complete
from metrics.models import DigestSent, DigestSubscription, Target
from metrics.rebuild import rollups_rebuild
from metrics.reports import headlines
from metrics.selectors import ReportFilters
from tests.factories import TeamFactory, UserFactory
from tests.test_reports import answer

pytestmark = pytest.mark.django_db

MONDAY = timezone.make_aware(datetime(2026, 11, 23, 0, 30))


@pytest.mark.parametrize(
    ("frequency", "today", "period"),
    [
        ("daily", date(2026, 11, 23), (date(2026, 11, 22), date(2026, 11, 22))),
        ("weekly", date(2026, 11, 23), (date(2026, 11, 16), date(2026, 11, 22))),
        ("weekly", date(2026, 11, 25), (date(2026, 11, 16), date(2026, 11, 22))),
        ("monthly", date(2026, 12, 1), (date(2026, 11, 1), date(2026, 11, 30))),
        ("monthly", date(2026, 12, 31), (date(2026, 11, 1), date(2026, 11, 30))),
    ],
)
def test_the_period_is_the_last_whole_day_week_or_month(frequency, today, period):
    assert period_last_complete(frequency, today) == period


@pytest.fixture
def subscribers(time_machine):
    time_machine.move_to(timezone.make_aware(datetime(2026, 11, 20, 15, 0)), tick=False)
    for score, days_ago in ((5, 1), (4, 2), (2, 3), (5, 8), (1, 9)):
        answer(score=score, days_ago=days_ago, comment=f"comment {score}")
    rollups_rebuild()
    Target.objects.create(metric="csat", value=80)
    lead = UserFactory(email="lena@support.example")
    TeamFactory(name="Support", lead=lead)
    StaffSettings.objects.create(user=lead, language="sv")
    admin = UserFactory(email="boss@support.example", is_staff=True)
    DigestSubscription.objects.create(user=lead, frequency="daily")
    DigestSubscription.objects.create(user=admin, frequency="weekly")
    return lead, admin


def test_a_week_of_sweeps_sends_one_digest_per_subscriber_and_period(subscribers, time_machine):
    lead, admin = subscribers
    start = timezone.make_aware(datetime(2026, 11, 16, 0, 30))  # a Monday
    for hours in range(0, 8 * 24, 3):
        time_machine.move_to(start + timedelta(hours=hours), tick=False)
        digests_sweep()
        digests_sweep()  # a second beat, or the same sweep again

    to_lead = [m for m in mail.outbox if m.to == [lead.email]]
    to_admin = [m for m in mail.outbox if m.to == [admin.email]]
    assert len(to_lead) == 8  # 15 to 22 November
    assert [m.subject for m in to_admin] == [
        "Kundpuls weekly report: 2026-11-09 to 2026-11-15",
        "Kundpuls weekly report: 2026-11-16 to 2026-11-22",
    ]
    assert to_lead[0].subject == "Kundpuls dagsrapport: 2026-11-15"
    assert DigestSent.objects.filter(sent_at__isnull=False).count() == 10


def test_the_digest_has_the_dashboards_figures_for_the_same_dates(subscribers, time_machine):
    _lead, admin = subscribers
    time_machine.move_to(MONDAY, tick=False)

    digests_sweep()

    [digest] = [m for m in mail.outbox if m.to == [admin.email]]
    dashboard = headlines(ReportFilters(start=date(2026, 11, 16), end=date(2026, 11, 22)))
    for line in dashboard:
        assert f"{line.label}: {line.score.formula}" in digest.body
    assert "CSAT: 66.7 % = 2 satisfied / 3 answers" in digest.body
    assert "Target 80.0 %: ≈ not met, though within the interval" in digest.body
    assert "/reports/?from=2026-11-16&to=2026-11-22" in digest.body
    assert "“comment 2”" in digest.body


def test_the_swedish_lead_reads_swedish_numbers(subscribers, time_machine):
    lead, _admin = subscribers
    time_machine.move_to(timezone.make_aware(datetime(2026, 11, 18, 8, 0)), tick=False)

    digests_sweep()

    [digest] = [m for m in mail.outbox if m.to == [lead.email]]
    with translation.override("sv"):
        assert "Uppföljningar: 0 öppna, 0 försenade." in digest.body
    assert "/scores/?from=2026-11-17&to=2026-11-17" in digest.body


def test_a_lead_subscribes_on_their_page_and_an_agent_may_not(client, subscribers):
    lead, _admin = subscribers
    client.force_login(lead)
    client.post("/reports/by-email/", {"frequency": "monthly"})
    client.force_login(UserFactory())

    refused = client.get("/reports/by-email/")

    assert DigestSubscription.objects.get(user=lead).frequency == "monthly"
    assert refused.status_code == 403
