"""Targets: each score against the target an admin set, for everyone or one team, in
words (with the 95 % interval in mind), never by colour alone."""

from datetime import datetime

import pytest
from django.utils import timezone

from metrics import formulas
from metrics.models import Target
from metrics.rebuild import rollups_rebuild
from tests.factories import AgentFactory, TeamFactory, UserFactory
from tests.test_reports import answer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(timezone.make_aware(datetime(2026, 11, 20, 15, 0)), tick=False)


@pytest.mark.parametrize(
    ("value", "low", "high", "status"),
    [
        (90.0, 86.0, 94.0, "met"),
        (90.0, 80.0, 95.0, "met_within"),
        (80.0, 70.0, 88.0, "not_met_within"),
        (70.0, 60.0, 80.0, "not_met"),
    ],
)
def test_target_status_says_met_or_not_and_whether_the_interval_crosses(value, low, high, status):
    interval = formulas.Interval(low=low, high=high)

    assert formulas.target_status(value=value, interval=interval, target=85.0) == status


def test_target_status_without_a_score_is_none():
    assert formulas.target_status(value=None, interval=None, target=85.0) is None


def test_the_dashboard_shows_each_score_against_everyones_target(client):
    client.force_login(UserFactory(is_staff=True))
    for score in (5, 5, 4, 2):
        answer(score=score)
    rollups_rebuild()
    Target.objects.create(metric="csat", value=85)

    page = client.get("/reports/").content.decode()

    # 75 % from 4 answers: its interval reaches 85 %.
    assert "Target 85.0 %:" in page
    assert "not met, though within the interval</strong>" in page
    assert "kp-target-not_met_within" in page


def test_a_teams_own_target_wins_on_its_members_scores_page(client):
    team = TeamFactory(name="Billing")
    agent = AgentFactory(team=team).user
    for _n in range(12):
        answer(score=5, agent=agent)
    rollups_rebuild()
    Target.objects.create(metric="csat", value=99.5)
    Target.objects.create(metric="csat", team=team, value=60)
    client.force_login(agent)

    page = client.get("/scores/").content.decode()

    assert "Target 60.0 %:" in page
    assert "met</strong>" in page
    assert "Target 99.5 %" not in page


def test_a_target_is_said_in_the_readers_language(client):
    client.force_login(UserFactory(is_staff=True))
    answer(score=2)
    rollups_rebuild()
    Target.objects.create(metric="csat", value=85)

    page = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()

    assert "Mål 85,0 %:" in page
