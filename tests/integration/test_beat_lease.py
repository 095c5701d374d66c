"""Two beat processes on one system: only the one holding the lease queues sweeps, the
survey emails go once each, and the second takes over when the first is killed."""

from __future__ import annotations

import os
import signal
import time

import pytest

from .conftest import Stack, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SENT_SWEEP = "Sending due task invitations-sweep"


def customer_ticket(n: int) -> dict:
    return ticket_event(
        external_id=f"lease-{n}",
        requester={"email": f"c{n}@example.se", "name": "Customer", "locale": "sv"},
    )


def recipients(stack: Stack) -> list[str]:
    return sorted(address for m in stack.mailbox.messages for address in m.rcpt_tos)


def test_a_second_beat_queues_nothing_until_the_first_dies(stack: Stack) -> None:
    first = next(p for p in stack.processes if p.name == "beat")
    second = stack.start_beat("beat2", standby=True)
    api = stack.api()
    for n in range(5):
        api.post("/api/v1/tickets", customer_ticket(n))

    wait_until(lambda: len(stack.mailbox.messages) >= 5, what="five survey emails")
    time.sleep(8)  # more than the lease: the standby would have taken it by now
    sweeps_first = first.output().count(SENT_SWEEP)
    assert sweeps_first >= 8
    assert second.output().count(SENT_SWEEP) == 0
    assert recipients(stack) == [f"c{n}@example.se" for n in range(5)]

    os.killpg(first.popen.pid, signal.SIGKILL)  # no goodbye: the lease has to run out
    killed_at = time.monotonic()
    second.wait_for_output(SENT_SWEEP, timeout=30)
    took_over = time.monotonic() - killed_at

    assert took_over < 6 + 6 / 4 + 2  # the lease, one renewal interval, a sweep
    assert "holding the beat lease" in second.output()
    api.post("/api/v1/tickets", customer_ticket(5))
    stack.mailbox.wait_for("c5@example.se")
    time.sleep(3)
    assert recipients(stack) == [f"c{n}@example.se" for n in range(6)]
