"""A backlog of due survey emails on the running system: beat sweeps every second
while the worker works through a thousand sends, and the broker holds each survey's
send about once (not once per sweep), and every customer gets one email."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from surveys.models import Survey
from tests.factories import InvitationFactory

from .conftest import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SURVEYS = 1000
SEND_TASK = "surveys.tasks.survey_emails_send"  # a batch: a list of tickets


def test_a_backlog_of_due_surveys_is_queued_about_once(stack: Stack) -> None:
    later = timezone.now() + timedelta(hours=1)
    InvitationFactory.create_batch(SURVEYS, send_after=later)  # not yet due
    Survey.objects.update(send_after=timezone.now())  # all due at once
    broker = redis.Redis.from_url(stack.redis.url)
    peak = 0

    def sends_waiting() -> int:
        """Survey emails in the send messages of Kundpuls' queue (beat's sweep messages
        wait there too)."""
        messages = [
            json.loads(m)
            for key in broker.keys("kundpuls:kundpuls*")
            for m in broker.lrange(key, 0, -1)
        ]
        batches = [
            json.loads(base64.b64decode(m["body"]))[0][0]
            for m in messages
            if m["headers"]["task"] == SEND_TASK
        ]
        return sum(len(batch) for batch in batches)

    def all_sent() -> bool:
        nonlocal peak
        peak = max(peak, sends_waiting())
        return len(stack.mailbox.messages) >= SURVEYS

    wait_until(all_sent, timeout=300, interval=0.1, what=f"{SURVEYS} survey emails")
    stack.wait_between_sweeps()

    recipients = [address for m in stack.mailbox.messages for address in m.rcpt_tos]
    assert len(recipients) == SURVEYS == len(set(recipients))
    assert 0 < peak <= SURVEYS, f"the broker held {peak} sends for {SURVEYS} surveys"
    assert set(Survey.objects.values_list("state", flat=True)) == {"sent"}


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: it counts the server's sessions (CI runs it on PostgreSQL)",
)
def test_the_worker_keeps_its_database_connections_between_tasks(stack: Stack) -> None:
    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    InvitationFactory.create_batch(100, send_after=timezone.now())
    before = sessions()

    wait_until(lambda: len(stack.mailbox.messages) >= 100, timeout=120, what="100 emails")
    stack.wait_between_sweeps()

    # Five send tasks and a sweep a second: a new session per task would be dozens.
    assert sessions() - before <= 6
    assert len(stack.mailbox.messages) == 100
