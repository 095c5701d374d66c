"""A Redis that hangs (SIGSTOP: it takes connections and answers nothing, as on a full
disk, a network partition or a long fork) costs the customer nothing: each answer gets
its thanks page quickly, and once Redis answers again every answer is processed once."""

from __future__ import annotations

import pytest

from followups.models import FollowUp
from surveys.models import Response

from .conftest import Browser, Stack, answer_survey, parse_html, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CATCH_UP = 90.0


def test_answers_with_redis_hung_are_quick_and_processed_once(stack: Stack) -> None:
    api = stack.api()
    customers = [f"hung{n}@example.se" for n in range(3)]
    links = []
    for n, customer in enumerate(customers):
        event = ticket_event(external_id=f"hung-{n}", requester={"email": customer})
        assert api.post("/api/v1/tickets", event).status == 201
        [mail] = stack.mailbox.wait_for(customer)
        links.append(next(u for u in parse_html(mail.html).links if u.endswith("?csat=1")))
    stack.wait_between_sweeps()

    stack.redis.freeze()
    try:
        answers = [answer_survey(Browser(), link, {"csat": "1"}) for link in links]
    finally:
        stack.redis.thaw()

    assert [a.status for a in answers] == [302, 302, 302]
    assert max(a.seconds for a in answers) < 2.0, [round(a.seconds, 2) for a in answers]
    assert Response.objects.filter(invitation__kind="csat").count() == 3
    wait_until(
        lambda: not Response.objects.filter(processed_at__isnull=True).exists(),
        timeout=CATCH_UP,
        what="the three answers to be processed",
    )
    assert FollowUp.objects.count() == 3
    for customer in customers:
        assert Response.objects.filter(invitation__survey__customer__email=customer).count() == 1
    for process in stack.processes:
        assert process.running, f"{process.name} died while Redis hung:\n{process.tail()}"
