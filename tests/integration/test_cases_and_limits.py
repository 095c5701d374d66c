"""Follow-up cases and rate limits on real components (web, worker, beat, Redis, SMTP):
one unhappy customer is one case, one email to the agent and one followup.created
delivery; many customers behind one address are never turned away, and someone
guessing links is, across web processes that share the Redis cache."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import FollowUp
from integrations import outbound
from integrations.models import WebhookDelivery
from surveys import sending, services
from surveys.models import Response, Survey

from .conftest import (
    Browser,
    Stack,
    answer_survey,
    free_port,
    hidden_fields,
    parse_html,
    ticket_event,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "anna@example.se"
AGENT = "lars@support.example"


def _all_processed() -> bool:
    answers = Response.objects.all()
    return answers.exists() and not answers.filter(processed_at__isnull=True).exists()


def test_one_unhappy_customer_is_one_case_one_email_and_one_delivery(stack: Stack) -> None:
    outbound.subscription_create(
        url="https://hooks.example.com/kundpuls", events=["followup.created"]
    )
    assert stack.api().post("/api/v1/tickets", ticket_event()).status == 201
    [mail] = stack.mailbox.wait_for(CUSTOMER)
    links = parse_html(mail.html).links
    rating = next(url for url in links if url.endswith("?csat=1"))

    # Low on every question, with a comment, through the page from the email.
    person = Browser()
    low = {"csat": "1", "ces": "1", "nps": "0", "comment": "Three weeks, no refund."}
    assert answer_survey(person, rating, low).status == 302
    wait_until(_all_processed, what="the three answers to be processed")
    [agent_mail] = stack.mailbox.wait_for(AGENT)
    stack.wait_between_sweeps()

    [case] = FollowUp.objects.all()
    assert case.reason == "CSAT 1 of 5, CES 1 of 7, NPS 0"
    assert "CSAT 1 of 5, CES 1 of 7, NPS 0" in agent_mail.text
    assert len(stack.mailbox.to(AGENT)) == 1
    created = WebhookDelivery.objects.filter(event_type="followup.created")
    assert created.count() == 1

    # The customer changes the answer upwards within the window: still one case, with
    # the change on its history, and no second email.
    high = {"csat": "5", "ces": "6", "nps": "9", "comment": "Sorted now, thanks."}
    assert answer_survey(Browser(), rating.replace("csat=1", "csat=5"), high).status == 302
    wait_until(_all_processed, what="the changed answers to be processed")
    stack.wait_between_sweeps()

    [case] = FollowUp.objects.all()
    change = case.events.get(kind="answer")
    assert (change.old, change.new) == (
        "CSAT 1 of 5, CES 1 of 7, NPS 0",
        "CSAT 5 of 5, CES 6 of 7, NPS 9",
    )
    assert len(stack.mailbox.to(AGENT)) == 1
    assert created.count() == 1


def _second_web(stack: Stack) -> str:
    """Another web process on the same database and Redis, as a second gunicorn
    worker would be."""
    port = free_port()
    web = stack._python("web-2", "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert web.running, web.tail()
        try:
            return Browser().request("GET", url + "/healthz?live=0", timeout=2).status in (200, 503)
        except OSError:
            return False

    wait_until(healthy, timeout=60, interval=0.2, what="the second web process")
    return url


def _sent_surveys(count: int) -> list[str]:
    """`count` survey emails sent to customers of one company; their link tokens."""
    now = timezone.now()
    tokens = []
    for n in range(count):
        event = {
            "source": "zendesk",
            "external_id": f"7{n:04d}",
            "subject": "Invoice question",
            "status": "solved",
            "requester": {"email": f"kund{n}@office.example", "name": "Kim", "locale": "sv"},
            "assignee": {"email": AGENT, "name": "Lars Holm"},
            "created_at": now - timedelta(days=1),
            "solved_at": now - timedelta(minutes=5),
        }
        ticket = services.ticket_ingest(event=event, now=now).ticket
        sending.survey_email_send(ticket_id=ticket.pk, now=now + timedelta(hours=2))
        tokens.append(sending.survey_link(Survey.objects.get(ticket=ticket)))
    return tokens


def test_only_unknown_links_count_against_the_limit_across_two_web_processes(
    stack: Stack, settings
) -> None:
    settings.SURVEY_SEND_DELAY = 3600  # the test sends them itself
    webs = [stack.web_url, _second_web(stack)]
    tokens = _sent_surveys(200)
    office = Browser()  # every request from 127.0.0.1: one office, one address
    started = time.monotonic()

    # 200 customers behind one address open their links and answer, within a minute.
    forms = []
    for n, token in enumerate(tokens):
        url = f"{webs[n % 2]}/s/{token}/?csat=4"
        page = office.request("GET", url)
        assert page.status == 200, (n, page.status)
        forms.append((url, hidden_fields(page.body)))
    answered = [
        office.request("POST", url, data={**fields, "csat": "4"}).status for url, fields in forms
    ]
    elapsed = time.monotonic() - started

    assert answered == [302] * 200
    assert elapsed < 60, elapsed
    assert Response.objects.filter(held=False).count() == 200

    # Someone guessing: 100 random tokens from the same address, spread over both
    # processes, which share the count in Redis.
    guesses = [
        office.request("GET", f"{webs[n % 2]}/s/{secrets.token_urlsafe(32)}/").status
        for n in range(100)
    ]
    assert guesses[:30] == [404] * 30
    assert guesses[30:] == [429] * 70
    # A valid link from that address still opens.
    assert office.request("GET", f"{webs[1]}/s/{tokens[0]}/").status == 200
