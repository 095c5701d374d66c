import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from surveys import sending, services
from surveys.api import TicketEventSerializer
from surveys.api_auth import api_key_create
from surveys.models import setup_cache
from tests.factories import AgentFactory, InvitationFactory, TeamFactory, UserFactory

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def ticket_event(**overrides: Any) -> dict[str, Any]:
    """A solved-ticket event as a helpdesk posts it."""
    event = {
        "source": "zendesk",
        "external_id": "48213",
        "subject": "Refund not received",
        "status": "solved",
        "channel": "email",
        "category": "returns",
        "tags": ["vip"],
        "requester": {"email": "anna@example.se", "name": "Anna Berg", "locale": "en"},
        "assignee": {"email": "lars@support.example", "name": "Lars Holm"},
        "team": "Billing",
        "created_at": "2026-11-20T08:14:00Z",
        "first_response_at": "2026-11-20T09:02:00Z",
        "solved_at": "2026-11-21T10:30:00Z",
        "agent_replies": 2,
        "reopens": 0,
    }
    event.update(overrides)
    return event


@pytest.fixture
def cast() -> SimpleNamespace:
    """A team lead, two agents of the lead's team, and an admin."""
    lead = UserFactory(username="lead@support.example")
    team = TeamFactory(name="Billing", lead=lead)
    agent_a = AgentFactory(user__username="a@support.example", team=team).user
    agent_b = AgentFactory(user__username="b@support.example", team=team).user
    admin = UserFactory(username="admin@support.example", is_staff=True)
    return SimpleNamespace(team=team, lead=lead, a=agent_a, b=agent_b, admin=admin)


@pytest.fixture
def api() -> APIClient:
    _key, plain = api_key_create(name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counts live in the cache, and frozen time keeps one window open; the
    policy a process keeps belongs to the database of the test that read it."""
    cache.clear()
    setup_cache.clear()


def sent_invitation(**overrides: Any) -> Any:
    """An invitation sent two days before NOW, to be answered within 30 days."""
    sent = NOW - timedelta(days=2)
    fields = {"state": "sent", "sent_at": sent, "expires_at": sent + timedelta(days=30)}
    return InvitationFactory(**{**fields, **overrides})


def survey_token(message: Any) -> str:
    """The survey link token in a survey email."""
    match = re.search(r"/s/([A-Za-z0-9_-]+)/", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def sent_survey(mailoutbox: list, time_machine: Any) -> Any:
    """Ingest a solved ticket and send its survey; returns (ticket, token)."""

    def make(**overrides: Any) -> tuple[Any, str]:
        time_machine.move_to(NOW, tick=False)
        result = services.ticket_ingest(event=_validated(ticket_event(**overrides)), now=NOW)
        sending.survey_email_send(ticket_id=result.ticket.pk, now=NOW + timedelta(hours=2))
        time_machine.move_to(NOW + timedelta(hours=3), tick=False)
        return result.ticket, survey_token(mailoutbox[-1])

    return make


def _validated(event: dict[str, Any]) -> dict[str, Any]:
    serializer = TicketEventSerializer(data=event)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class QuietHandler(BaseHTTPRequestHandler):
    """A stand-in for a remote HTTP service that keeps its access log out of the output."""

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free loopback port; yields the server's base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def post_concurrently(url: str, body: bytes, headers: dict[str, str], times: int = 100) -> list:
    """POST the same delivery `times` times from 25 threads; returns the sorted statuses."""

    def deliver(_n: int) -> int:
        request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=25) as pool:
        return sorted(pool.map(deliver, range(times)))
