"""Getting around the staff side: everyone lands where their role works, a page their
role may not open is a styled 403 with a way back (and no traceback in the log), the
inbox puts overdue cases first, and an email from a case is signed by its sender."""

import logging
import re
from datetime import timedelta

import pytest

from followups import services as followups
from followups.models import FollowUp
from tests.test_followups_workflow import MONDAY_MORNING, open_case

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    user.set_password("pw-for-tests-only")
    user.save()
    return client.post(
        "/login/", {"username": user.username, "password": "pw-for-tests-only"}, follow=True
    )


@pytest.mark.parametrize(
    ("who", "lands"), [("admin", "/reports/"), ("lead", "/scores/"), ("a", "/followups/")]
)
def test_each_role_lands_where_its_work_is(client, cast, who, lands):
    page = sign_in(client, getattr(cast, who))

    assert page.redirect_chain[-1][0] == lands


def test_an_agent_gets_the_styled_403_and_no_traceback(client, cast, caplog):
    client.force_login(cast.a)
    with caplog.at_level(logging.WARNING):
        page = client.get("/reports/")

    assert page.status_code == 403
    assert "This page is not open to you" in page.content.decode()
    assert 'href="/"' in page.content.decode()
    assert [r.exc_info for r in caplog.records if r.exc_info] == []


def test_a_contacted_case_past_its_due_time_comes_after_the_overdue_ones(cast, time_machine):
    overdue = open_case(cast.a, cast.team, now=MONDAY_MORNING - timedelta(days=5))
    contacted = open_case(cast.a, cast.team, now=MONDAY_MORNING - timedelta(days=6))
    FollowUp.objects.filter(pk=contacted.pk).update(status=FollowUp.Status.CONTACTED)
    later = open_case(cast.a, cast.team, now=MONDAY_MORNING)
    time_machine.move_to(MONDAY_MORNING + timedelta(hours=1), tick=False)

    rows = followups.followups_inbox(user=cast.a)

    assert [case.pk for case in rows] == [overdue.pk, contacted.pk, later.pk]


def test_an_email_from_a_case_is_signed_by_the_lead_who_sends_it(client, cast):
    case = open_case(cast.a, cast.team)
    cast.lead.first_name, cast.lead.last_name = "Lena", "Lind"
    cast.lead.save()
    client.force_login(cast.lead)

    page = client.get(f"/followups/{case.pk}/email/").content.decode()

    assert "Lena Lind" in page


def test_a_cases_history_names_statuses_in_the_readers_language(client, cast):
    case = open_case(cast.a, cast.team)
    followups.followup_status_set(
        followup=case, status=FollowUp.Status.CONTACTED, actor=cast.a, now=MONDAY_MORNING
    )
    client.force_login(cast.a)

    page = client.get(f"/followups/{case.pk}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()

    assert "Ny → Kontaktad" in page


def nav_links(page):
    """The hrefs of the main navigation on a page."""
    html = page.content.decode()
    nav = html[html.index('class="navbar') : html.index("</nav>")]
    return {href.split("?")[0] for href in re.findall(r'href="([^"]+)"', nav)}


@pytest.mark.parametrize("url", ["/reports/", "/followups/", "/setup/", "/followups/report/"])
def test_an_admin_finds_cases_and_reports_from_every_staff_page(client, cast, url):
    client.force_login(cast.admin)

    links = nav_links(client.get(url))

    assert {"/followups/", "/reports/", "/reports/monthly/", "/followups/report/"} <= links
    assert {"/setup/", "/setup/health/", "/admin/"} <= links


@pytest.mark.parametrize("url", ["/followups/", "/scores/", "/me/"])
def test_an_agent_is_shown_only_what_an_agent_may_open(client, cast, url):
    client.force_login(cast.a)

    links = nav_links(client.get(url))

    assert {"/followups/", "/scores/", "/me/"} <= links
    assert not {"/reports/", "/setup/", "/admin/"} & links
