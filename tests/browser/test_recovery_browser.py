"""The customer answers "Did we sort it out?" on a phone in headless Chromium: the
link from the email preselects No, one button confirms, and the agent's case then
shows "Not recovered". Both pages pass axe (WCAG 2.1 AA)."""

import re

import pytest
from django.utils import timezone

from followups import services as followups
from surveys.models import Response
from tests.browser.conftest import PHONE, axe_violations
from tests.factories import AgentFactory, CustomerFactory, InvitationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def resolved_case():
    agent = AgentFactory(user__username="lars@support.example").user
    agent.set_password("correct horse battery")
    agent.save()
    invitation = InvitationFactory(
        ticket__assignee=agent,
        ticket__subject="Refund not received",
        ticket__requester=CustomerFactory(email="anna@example.se", name="Anna", locale="sv"),
        state="answered",
    )
    response = Response.objects.create(invitation=invitation, raw_score=1, score=1)
    followup = followups.followup_flag(survey=response.invitation.survey, now=timezone.now())
    return followups.followup_status_set(followup=followup, status="resolved")


def test_customer_answers_no_on_a_phone(chromium, live_server, resolved_case, mailoutbox):
    [email] = mailoutbox
    path = re.search(r"http://testserver(/r/[\w-]+/)\?answer=no", email.body).group(1)
    phone = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = phone.new_page()

    page.goto(f"{live_server.url}{path}?answer=no")
    preselected = page.get_by_label("Nej").is_checked()
    question_violations = axe_violations(page)
    page.get_by_label("Vill du lägga till något?").fill("Pengarna har inte kommit")
    page.get_by_role("button", name="Skicka mitt svar").click()
    page.wait_for_url(f"{live_server.url}{path}thanks/")
    thanks_violations = axe_violations(page)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    phone.close()

    desk = chromium.new_context()
    agent_page = desk.new_page()
    agent_page.goto(f"{live_server.url}/followups/{resolved_case.pk}/")
    agent_page.get_by_label("Username").fill("lars@support.example")
    agent_page.get_by_label("Password").fill("correct horse battery")
    agent_page.get_by_role("button", name="Sign in").click()
    outcome = agent_page.locator("dt:text-is('Outcome') + dd").inner_text()
    history = agent_page.locator(".kp-history").inner_text()
    desk.close()

    assert preselected
    assert outcome == "Not recovered"
    assert "The customer answered" in history
    assert "Pengarna har inte kommit" in history
    assert scroll_width <= PHONE["width"]
    assert (question_violations, thanks_violations) == ([], [])
