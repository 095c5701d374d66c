"""Write-back on real components: a solved Zendesk ticket comes in over the API, the
customer answers the emailed survey, and two real workers (with beat's sweeps) write
the answer into the ticket through a stand-in of Zendesk's API that is down at first:
one note, however often the task is sent again."""

from __future__ import annotations

import base64
import json
import re
import threading

import pytest

from integrations.models import HelpdeskConnection, WriteBack
from tests.conftest import QuietHandler, loopback_server

from .conftest import Browser, Stack, answer_survey, parse_html, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKEN = "zd-token-1"
AUTH = "Basic " + base64.b64encode(f"agent@support.example/token:{TOKEN}".encode()).decode()


class Zendesk(QuietHandler):
    """Zendesk's ticket update (PUT /api/v2/tickets/{id}.json): 503 to the first call,
    as a helpdesk that is down, then 200 to each correct call, which it keeps."""

    lock = threading.Lock()
    calls: list = []
    updates: list = []

    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.calls.append(body)
            first = len(self.calls) == 1
            right = (
                re.fullmatch(r"/api/v2/tickets/48213\.json", self.path)
                and self.headers.get("Authorization") == AUTH
                and body["ticket"]["comment"]["public"] is False
            )
            if right and not first:
                self.updates.append(body)
        self.send_response(503 if first else 200 if right else 400)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def test_an_answer_is_written_into_the_ticket_once_by_two_workers(stack: Stack) -> None:
    Zendesk.calls, Zendesk.updates = [], []
    stack.start_worker("w2")
    with loopback_server(Zendesk) as zendesk_url:
        HelpdeskConnection.objects.create(
            provider="zendesk",
            secret="s",
            api_token=TOKEN,
            api_user="agent@support.example",
            api_base=zendesk_url,
            writeback=True,
        )
        assert stack.api().post("/api/v1/tickets", ticket_event()).status == 201
        [mail] = stack.mailbox.wait_for("anna@example.se")
        link = next(u for u in parse_html(mail.html).links if u.endswith("?csat=2"))

        answered = answer_survey(Browser(), link, {"csat": "2", "comment": "Slow refund"})
        assert answered.status == 302, answered.body[:500]
        # Down at the first try; the sweep tries again after the 10 s backoff.
        wait_until(lambda: len(Zendesk.updates) == 1, timeout=40, what="the write-back")
        write = WriteBack.objects.get()
        for _ in range(3):  # the task sent again, to both workers
            stack.send_task("integrations.tasks.writeback_send", write.pk)
        stack.wait_between_sweeps()

    [update] = Zendesk.updates
    assert len(Zendesk.calls) == 2  # the refused one and the write
    note = update["ticket"]["comment"]["body"]
    assert "CSAT: 2 of 5 (low)" in note
    assert "Slow refund" in note
    assert update["ticket"]["additional_tags"] == ["kundpuls-csat-2", "kundpuls-low"]
    write.refresh_from_db()
    assert (write.state, write.attempts) == (WriteBack.State.DONE, 2)
