"""One survey email per solved ticket, however often the helpdesk repeats the event and
however many workers, sweeps and direct calls race to send it."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from surveys import tasks
from surveys.models import Customer, Invitation, Survey, Ticket

from .conftest import SWEEP_SECONDS, HttpResult, Stack, iso, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "anna@example.se"
# The survey falls due this far after the events are posted, so that every sender
# below races for it at the same moment instead of finding it sent already.
DUE_IN = timedelta(seconds=4)


def in_threads(count: int, target: Any) -> list[Any]:
    """Run target(i) in count threads released at once; return their results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:  # reported by the caller
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return results


def test_one_email_however_often_the_event_and_the_send_repeat(stack: Stack, settings: Any) -> None:
    stack.start_worker("w2")
    api = stack.api()
    # Solved in a few seconds (a helpdesk clock a little ahead): due then, not now.
    due_at = timezone.now() + DUE_IN
    event = ticket_event(solved_at=iso(due_at))

    # The helpdesk sends the event five times at once, then five times more.
    concurrent: list[HttpResult] = in_threads(5, lambda _i: api.post("/api/v1/tickets", event))
    statuses = sorted(r.status for r in concurrent)
    assert statuses == [200, 200, 200, 200, 201], [(r.status, r.body) for r in concurrent]
    for _ in range(5):
        again = api.post("/api/v1/tickets", event)
        assert again.status == 200, again.body
    assert Ticket.objects.count() == 1 and Customer.objects.count() == 1
    ticket = Ticket.objects.get()
    invitations = Invitation.objects.filter(survey__ticket=ticket)
    surveys = Survey.objects.filter(ticket=ticket)
    assert sorted(invitations.values_list("kind", flat=True)) == ["ces", "csat", "nps"]
    assert set(surveys.values_list("state", flat=True)) == {"scheduled"}, (
        "the events took longer than DUE_IN to post; the race below would be empty"
    )
    send_after: datetime = surveys.get().send_after

    # The test process sends by SMTP too, when it runs the task itself.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", stack.smtp_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.SITE_URL = stack.web_url

    # When it falls due: the beat sweep, four task messages for the two workers, and
    # two direct runs of the task in this process all try to send it.
    time.sleep(max(0.0, (send_after - timezone.now()).total_seconds()))

    def send(index: int) -> int:
        if index < 4:
            stack.send_task("surveys.tasks.survey_email_send", ticket.pk)
            return 0
        return tasks.survey_email_send(ticket.pk)

    sent_here = in_threads(6, send)

    [mail] = stack.mailbox.wait_for(CUSTOMER)
    assert "Refund not received" in mail.subject
    wait_until(
        lambda: set(surveys.values_list("state", flat=True)) == {"sent"},
        what="the survey to be sent",
    )
    # And again, directly, now that it is sent.
    assert tasks.survey_email_send(ticket.pk) == 0
    assert tasks.survey_email_send(ticket.pk) == 0
    stack.send_task("surveys.tasks.survey_email_send", ticket.pk)

    # A few sweeps later there is still one email and nothing left to send.
    settle_until = time.monotonic() + 4 * SWEEP_SECONDS
    while time.monotonic() < settle_until:
        assert len(stack.mailbox.to(CUSTOMER)) == 1, [m.subject for m in stack.mailbox.messages]
        time.sleep(0.1)
    assert len(stack.mailbox.messages) == 1
    assert set(surveys.values_list("state", flat=True)) == {"sent"}
    assert surveys.get().links.count() == 1
    assert set(surveys.values_list("attempts", flat=True)) == {1}
    assert sum(sent_here) in (0, 3)  # this process sent all three questions, or none
