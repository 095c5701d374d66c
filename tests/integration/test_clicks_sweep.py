"""A survey page view only stores its link fetch; beat's clicks sweep has a real worker
judge it within seconds, and the web server's publisher thread gets a moment's
answers to the worker as one message, each processed once."""

from __future__ import annotations

import re

import pytest

from surveys.models import LinkClick, Response, Survey

from .conftest import Browser, Stack, answer_survey, parse_html, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_scanners_fetches_are_judged_by_the_sweep_and_answers_processed_once(
    stack: Stack,
) -> None:
    api = stack.api()
    customers = [f"sweep{n}@example.se" for n in range(3)]
    links = []
    for n, customer in enumerate(customers):
        assert (
            api.post(
                "/api/v1/tickets",
                ticket_event(external_id=f"sw-{n}", requester={"email": customer}),
            ).status
            == 201
        )
        [mail] = stack.mailbox.wait_for(customer)
        links.append([u for u in parse_html(mail.html).links if re.search(r"\?csat=\d$", u)])

    # A mail scanner opens every rating link of the first email the moment it arrives.
    scanner = Browser()
    for url in links[0]:
        assert scanner.request("GET", url).status == 200
    first = Survey.objects.get(ticket__external_id="sw-0")
    assert LinkClick.objects.filter(survey=first).count() == len(links[0])

    wait_until(
        lambda: not LinkClick.objects.filter(judged_at__isnull=True).exists(),
        timeout=30,
        what="beat's clicks sweep to judge the fetches",
    )
    first.refresh_from_db()
    assert first.bot_suspect_at is not None, "a fetch of every link at once is a scanner's"
    assert first.first_clicked_at is None

    # The other two customers answer at the same moment.
    answers = [answer_survey(Browser(), urls[0], {"csat": "1"}) for urls in links[1:]]
    assert [a.status for a in answers] == [302, 302]
    wait_until(
        lambda: Response.objects.filter(processed_at__isnull=False).count() == 2,
        timeout=60,
        what="both answers to be processed",
    )
    assert Response.objects.count() == 2
