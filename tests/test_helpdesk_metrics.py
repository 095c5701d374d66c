"""Both directions of a ticket's life from a helpdesk: a reopen through the documented
trigger body cancels the survey not sent yet, and with an API token the ticket's
service metrics are read from the helpdesk's API (a stub server on loopback that
answers as the helpdesk's documentation shows)."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from integrations.models import HelpdeskConnection
from metrics.selectors import ReportFilters
from metrics.tickets import service_metrics
from surveys.models import Survey, Ticket
from tests.conftest import QuietHandler, loopback_server
from tests.test_webhooks import (  # noqa: F401 -- _secrets: the webhook secrets and clock
    _secrets,
    freshdesk_body,
    post_freshdesk,
    post_zendesk,
    zendesk_body,
)

pytestmark = pytest.mark.django_db

# GET /api/v2/tickets/{id}/metrics.json, as in Zendesk's API reference (trimmed).
ZENDESK_METRICS = {
    "ticket_metric": {
        "id": 33,
        "ticket_id": 48213,
        "created_at": "2026-11-20T08:14:00Z",
        "replies": 1,
        "reopens": 0,
        "reply_time_in_minutes": {"calendar": 95, "business": 40},
        "first_resolution_time_in_minutes": {"calendar": 1664, "business": 600},
        "solved_at": "2026-11-21T11:58:00Z",
    }
}
# GET /api/v2/tickets/{id}?include=stats and /conversations, as in Freshdesk's API.
FRESHDESK_TICKET = {
    "id": 731,
    "status": 4,
    "created_at": "2026-11-20T08:00:00Z",
    "stats": {
        "first_responded_at": "2026-11-20T08:30:00Z",
        "resolved_at": "2026-11-21T11:00:00Z",
        "reopened_at": "2026-11-21T09:00:00Z",
    },
}
FRESHDESK_CONVERSATIONS = [
    {"id": 1, "incoming": False, "private": False, "body_text": "Try this"},
    {"id": 2, "incoming": True, "private": False, "body_text": "Did not work"},
    {"id": 3, "incoming": False, "private": True, "body_text": "Note to self"},
    {"id": 4, "incoming": False, "private": False, "body_text": "Fixed now"},
]


@pytest.fixture
def helpdesk_api():
    """A loopback server answering the helpdesk API paths; it records each request."""
    pages = {
        "/api/v2/tickets/48213/metrics.json": ZENDESK_METRICS,
        "/api/v2/tickets/731?include=stats": FRESHDESK_TICKET,
        "/api/v2/tickets/731/conversations": FRESHDESK_CONVERSATIONS,
    }
    seen = []

    class Helpdesk(QuietHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps(pages[self.path]).encode() if self.path in pages else b"{}"
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    with loopback_server(Helpdesk) as url:
        yield url, seen


def _ingest(django_capture_on_commit_callbacks, post):
    with django_capture_on_commit_callbacks(execute=True):
        assert post().status_code == 202


def test_a_zendesk_reopen_cancels_the_survey_not_sent_yet(
    client, django_capture_on_commit_callbacks
):
    _ingest(django_capture_on_commit_callbacks, lambda: post_zendesk(client, zendesk_body()))
    reopened = zendesk_body(status="Open", solved_at="2026-11-21T11:59Z")

    _ingest(django_capture_on_commit_callbacks, lambda: post_zendesk(client, reopened))

    survey = Survey.objects.get()
    assert (survey.state, survey.reason) == (
        "cancelled",
        "ticket reopened before the survey was sent",
    )
    assert Ticket.objects.get().status == "open"


def test_a_freshdesk_reopen_cancels_the_survey_not_sent_yet(
    client, django_capture_on_commit_callbacks, time_machine
):
    _ingest(django_capture_on_commit_callbacks, lambda: post_freshdesk(client, freshdesk_body()))
    time_machine.shift(timedelta(minutes=2))

    reopened = freshdesk_body(status="Open")
    _ingest(django_capture_on_commit_callbacks, lambda: post_freshdesk(client, reopened))

    assert Survey.objects.get().state == "cancelled"


def test_zendesk_metrics_fill_the_service_report(
    client, django_capture_on_commit_callbacks, helpdesk_api, settings
):
    settings.ZENDESK_API_BASE, seen = helpdesk_api
    HelpdeskConnection.objects.create(
        provider="zendesk",
        secret=settings.ZENDESK_WEBHOOK_SECRET,
        api_token="zd-token",
        api_user="admin@acme.example",
    )

    _ingest(django_capture_on_commit_callbacks, lambda: post_zendesk(client, zendesk_body()))

    ticket = Ticket.objects.get()
    assert ticket.first_response_at == datetime(2026, 11, 20, 9, 49, tzinfo=UTC)
    assert (ticket.agent_replies, ticket.reopens) == (1, 0)
    assert seen == [
        ("/api/v2/tickets/48213/metrics.json", "Basic YWRtaW5AYWNtZS5leGFtcGxlL3Rva2VuOnpkLXRva2Vu")
    ]
    report = service_metrics(filters=ReportFilters(start=date(2026, 11, 1), end=date(2026, 11, 30)))
    assert report.first_response.median == 95 * 60
    assert report.fcr == 100.0


def test_freshdesk_stats_and_replies_fill_the_ticket(
    client, django_capture_on_commit_callbacks, helpdesk_api, settings
):
    settings.FRESHDESK_API_BASE, seen = helpdesk_api
    HelpdeskConnection.objects.create(
        provider="freshdesk", secret=settings.FRESHDESK_WEBHOOK_TOKEN, api_token="fd-key"
    )

    _ingest(django_capture_on_commit_callbacks, lambda: post_freshdesk(client, freshdesk_body()))

    ticket = Ticket.objects.get()
    assert ticket.created_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert ticket.first_response_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert (ticket.agent_replies, ticket.reopens) == (2, 1)
    assert {auth for _path, auth in seen} == {"Basic ZmQta2V5Olg="}


def test_an_unreachable_helpdesk_api_still_surveys_the_customer(
    client, django_capture_on_commit_callbacks, settings
):
    settings.ZENDESK_API_BASE = "http://127.0.0.1:9"  # nothing listens on discard
    HelpdeskConnection.objects.create(
        provider="zendesk", secret=settings.ZENDESK_WEBHOOK_SECRET, api_token="t", api_user="a@b.c"
    )

    _ingest(django_capture_on_commit_callbacks, lambda: post_zendesk(client, zendesk_body()))

    ticket = Ticket.objects.get()
    assert ticket.first_response_at is None
    assert Survey.objects.get(ticket=ticket).state == "scheduled"
