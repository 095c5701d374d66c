"""A worker killed while the mail server holds its final reply (the server has the
email, the worker never learns it was sent): the task comes back at once, sends the
identical email again, and every link in every email the customer got opens the
survey. Twenty times."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from surveys.models import Survey

from .conftest import Browser, Stack, parse_html, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TRIALS = 20


def pool_processes(worker_pid: int) -> list[int]:
    """The worker's pool processes (the children of its main process)."""
    found = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(worker_pid)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def test_a_worker_killed_before_it_learns_the_email_went_sends_the_same_email_again(
    stack: Stack,
) -> None:
    api = stack.api()
    [worker] = stack.workers()
    stack.mailbox.reply_delay = 3.0
    slow_to_clear = []
    for trial in range(TRIALS):
        customer = f"crash{trial}@example.se"
        stack.mailbox.receiving.clear()
        event = ticket_event(
            external_id=f"9{trial:03d}", requester={"email": customer, "name": "Kim"}
        )
        assert api.post("/api/v1/tickets", event).status == 201
        assert stack.mailbox.receiving.wait(30), f"trial {trial}: no email reached the server"
        for pid in pool_processes(worker.popen.pid):
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        def sent(external_id: str = event["external_id"]) -> bool:
            return Survey.objects.filter(ticket__external_id=external_id, state="sent").exists()

        wait_until(sent, timeout=60, interval=0.1, what=f"trial {trial}: the survey sent")
        slow_to_clear.append(time.monotonic() - killed)

    # What every customer got: the same email (same Message-ID and links) once or twice.
    browser = Browser()
    per_customer = []
    for trial in range(TRIALS):
        mails = stack.mailbox.to(f"crash{trial}@example.se")
        per_customer.append(len(mails))
        assert len({m.header("Message-ID") for m in mails}) == 1, trial
        links = {frozenset(parse_html(m.html).links) for m in mails}
        assert len(links) == 1, f"trial {trial}: two different emails"
        survey_links = [url for url in next(iter(links)) if "/s/" in url and "/h/" not in url]
        for url in survey_links:
            assert browser.request("GET", url).status == 200, url
    assert max(slow_to_clear) < 60, slow_to_clear
    print(
        f"\nemails per customer: {per_customer}; seconds to sent after the kill: "
        f"max {max(slow_to_clear):.1f}, median {sorted(slow_to_clear)[TRIALS // 2]:.1f}"
    )
