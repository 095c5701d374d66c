"""The customer's path does on the request only what the customer waits for: these
are the SQL round trips a customer's answer, a click from the email and a helpdesk's
ticket event may take (bench/customer_path.py measures their cost)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.models import LinkClick, Response
from tests.conftest import ticket_event
from tests.test_survey_page import form_token

pytestmark = pytest.mark.django_db


def _queries(fn):
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return result, [q["sql"] for q in captured.captured_queries]


def test_answer_post_takes_at_most_six_queries(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    ft = form_token(client.get(f"/s/{token}/"))
    time_machine.shift(timedelta(seconds=5))

    posted, queries = _queries(
        lambda: client.post(f"/s/{token}/", {"csat": "4", "ces": "6", "ft": ft})
    )

    assert posted.status_code == 302
    assert Response.objects.count() == 2
    print(len(queries), *queries, sep="\n")
    assert len(queries) <= 6


def test_page_from_the_email_takes_at_most_four_queries(client, sent_survey):
    _ticket, token = sent_survey()

    page, queries = _queries(lambda: client.get(f"/s/{token}/?csat=2"))

    assert page.status_code == 200
    assert LinkClick.objects.count() == 1
    print(len(queries), *queries, sep="\n")
    assert len(queries) <= 4


def test_ticket_event_of_a_known_customer_takes_at_most_ten_queries(api, sent_survey):
    sent_survey()
    api.post("/api/v1/tickets", ticket_event(external_id="50000"), format="json")
    event = ticket_event(external_id="50001")

    posted, queries = _queries(lambda: api.post("/api/v1/tickets", event, format="json"))

    assert posted.status_code in (200, 201, 202)
    print(len(queries), *queries, sep="\n")
    assert len(queries) <= 10


def test_a_batch_of_survey_emails_reads_the_rules_facts_once(api, sent_survey, time_machine):
    from surveys import sending

    sent_survey()
    tickets = []
    for n in range(10):
        event = ticket_event(external_id=f"6{n}", requester={"email": f"k{n}@example.se"})
        tickets.append(api.post("/api/v1/tickets", event, format="json").json()["id"])
    time_machine.shift(timedelta(hours=2))

    sent, queries = _queries(lambda: sending.survey_emails_send(ticket_ids=tickets))

    assert sent == 10
    # Per email: the update marking it sent. Per batch: the claim, the surveys and their
    # questions, the customers' last email and NPS, the links, and the refresh of the
    # funnel bucket they share.
    assert len(queries) <= 10 + 10
