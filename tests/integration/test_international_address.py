"""A customer with a non-ASCII local part gets the survey email on the running system
(web, worker, an SMTP server that offers SMTPUTF8), and its link opens the survey."""

from __future__ import annotations

import pytest

from .conftest import Browser, Stack, parse_html, ticket_event

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ADDRESS = "ünï@kund.example"


def test_an_international_address_gets_its_survey(stack: Stack) -> None:
    event = ticket_event(requester={"email": ADDRESS, "name": "Ünï", "locale": "fi"})

    assert stack.api().post("/api/v1/tickets", event).status == 201
    [mail] = stack.mailbox.wait_for(ADDRESS)

    assert mail.rcpt_tos == [ADDRESS]
    assert mail.header("To") == ADDRESS
    rating = next(url for url in parse_html(mail.html).links if url.endswith("?csat=1"))
    assert Browser().request("GET", rating).status == 200
