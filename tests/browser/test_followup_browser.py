"""An agent works a follow-up case in headless Chromium: signs in, opens the newest
case from the inbox, adds a note, emails the customer (through Django's SMTP backend
to a real SMTP server on loopback) and resolves the case, which asks the customer
"Did we sort it out?"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups import services as followups
from followups.models import FollowUp
from surveys.models import Response
from tests.browser.conftest import PHONE, axe_violations
from tests.factories import AgentFactory, CustomerFactory, InvitationFactory, TeamFactory
from tests.smtp_sink import smtp_sink

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def case(agent, subject, customer, opened):
    invitation = InvitationFactory(
        ticket__assignee=agent,
        ticket__team=TeamFactory(name="Billing"),
        ticket__subject=subject,
        ticket__requester=customer,
        state="answered",
    )
    response = Response.objects.create(
        invitation=invitation, raw_score=1, score=1, comment="Nobody called back"
    )
    return followups.followup_flag(survey=response.invitation.survey, now=opened)


@pytest.fixture
def agent():
    user = AgentFactory(user__username="lars@support.example").user
    user.set_password("correct horse battery")
    user.save()
    return user


@pytest.fixture
def smtp(settings):
    """Django's SMTP backend, pointed at an SMTP server on loopback."""
    with smtp_sink() as (mailbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield mailbox


def test_agent_works_newest_case_from_inbox(chromium, live_server, agent, smtp):
    customer = CustomerFactory(email="anna@example.se", name="Anna Berg", locale="sv")
    case(agent, "Old parcel question", customer, timezone.now() - timedelta(days=2))
    newest = case(agent, "Refund not received", customer, timezone.now())
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()

    page.goto(f"{live_server.url}/followups/")
    page.get_by_label("Username").fill("lars@support.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Refund not received").click()
    page.get_by_label("Note").fill("Called, left a voicemail")
    page.get_by_role("button", name="Add note").click()
    page.get_by_role("link", name="Email the customer").click()
    page.get_by_label("Body").fill("Hej Anna! Kan jag ringa dig i morgon?")
    page.get_by_role("button", name="Send email").click()
    page.get_by_text("Email sent to anna@example.se.").wait_for()
    [reply] = smtp.wait_for("anna@example.se")
    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/followups/{newest.pk}/")
    violations = axe_violations(page)
    context.close()

    assert reply.rcpt_tos == ["anna@example.se"]
    assert reply.subject.startswith("Om ditt supportärende")
    assert "Hej Anna! Kan jag ringa dig i morgon?" in reply.text
    assert reply.header("Reply-To") == "lars@support.example"
    [_reply, survey] = smtp.wait_for("anna@example.se", count=2)
    assert survey.subject == "Lyckades vi lösa ”Refund not received”?"
    newest.refresh_from_db()
    assert newest.status == "resolved"
    assert list(newest.events.values_list("kind", flat=True)) == [
        "opened",
        "note",
        "email",
        "status",
        "status",
        "recovery_sent",
    ]
    assert FollowUp.objects.exclude(pk=newest.pk).get().status == "new"
    assert violations == []


def test_inbox_and_case_fit_a_phone_without_sideways_scrolling(chromium, live_server, agent):
    customer = CustomerFactory(email="anna@example.se", name="Anna Berg", locale="sv")
    followup = case(agent, "Refund not received for the winter jacket order", customer,
                    timezone.now() - timedelta(days=3))  # fmt: skip
    context = chromium.new_context(bypass_csp=True, viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("lars@support.example")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_server.url}/followups/")
    inbox_width = page.evaluate("document.documentElement.scrollWidth")
    overdue = page.locator(".kp-case.table-danger").count()
    violations = axe_violations(page)
    page.get_by_role("link", name="Refund not received for the winter jacket order").click()
    page.wait_for_url(f"{live_server.url}/followups/{followup.pk}/")
    case_width = page.evaluate("document.documentElement.scrollWidth")
    context.close()

    assert (inbox_width, case_width) == (360, 360)
    assert overdue == 1
    assert violations == []
