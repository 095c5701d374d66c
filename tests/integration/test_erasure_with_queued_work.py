"""Erasing a customer on the running system while Redis hangs, with their work still
waiting in the broker: the erasure completes, and the queued survey email and the
queued answer, run afterwards by a fresh worker, send nothing personal."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from integrations.models import WebhookSubscription
from surveys.models import Customer, Response, Survey
from tests.conftest import QuietHandler, loopback_server

from .conftest import REPO, Browser, Stack, answer_survey, parse_html, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ADDRESS = "greta.lund@kund.example"
PERSONAL = [ADDRESS, "greta", "lund", "surrar", "kylskåp"]


class Receiver(QuietHandler):
    bodies: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with self.lock:
            self.bodies.append(body)
        self.send_response(204)
        self.end_headers()


def personal(texts: list[str]) -> list[str]:
    return [word for word in PERSONAL for text in texts if word in text.lower()]


def test_erasure_with_redis_hung_leaves_queued_work_nothing_personal_to_send(
    stack: Stack,
) -> None:
    # The webhook receiver listens on loopback: a worker that may post there.
    for worker in stack.workers():
        worker.stop()
    stack.env["WEBHOOK_ALLOW_PRIVATE_URLS"] = "1"
    stack.start_worker("w1b")
    api = stack.api()
    with loopback_server(Receiver) as url:
        WebhookSubscription.objects.create(
            url=f"{url}/hook", events=["response.created", "response.updated"]
        )
        requester = {"email": ADDRESS, "name": "Greta Lund"}
        event = ticket_event(external_id="60001", requester=requester, subject="Kylskåp surrar")
        assert api.post("/api/v1/tickets", event).status == 201
        [mail] = stack.mailbox.wait_for(ADDRESS)
        link = next(u for u in parse_html(mail.html).links if u.endswith("?csat=1"))
        answered = answer_survey(Browser(), link, {"csat": "1", "comment": "Kylen surrar"})
        assert answered.status == 302
        wait_until(lambda: personal(Receiver.bodies), what="the webhook with the comment")

        # The worker stops; a second ticket's survey email and a changed answer wait
        # in the broker.
        stack.wait_between_sweeps()
        for worker in stack.workers():
            worker.stop()
        second = ticket_event(external_id="60002", requester=requester, subject="Kylskåp igen")
        assert api.post("/api/v1/tickets", second).status == 201
        changed = answer_survey(Browser(), link, {"csat": "2", "comment": "Surrar fortfarande"})
        assert changed.status == 302
        delivered_before = len(Receiver.bodies)

        stack.redis.freeze()
        started = time.monotonic()
        erased = subprocess.run(
            [sys.executable, "manage.py", "erase_customer", ADDRESS],
            cwd=REPO,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - started
        stack.redis.thaw()

        stack.start_worker("w2")
        stack.wait_between_sweeps()
        stack.wait_between_sweeps()
        after = Receiver.bodies[delivered_before:]

    assert erased.returncode == 0, erased.stderr
    assert "Erased customer" in erased.stdout
    assert took < 20, f"erasure took {took:.1f} s with Redis hung"
    assert [m.subject for m in stack.mailbox.to(ADDRESS)] == [mail.subject]  # no second email
    assert personal(after) == [], after
    assert Survey.objects.get(ticket__external_id="60002").state == Survey.State.CANCELLED
    assert set(Response.objects.values_list("comment", flat=True)) == {""}
    assert Customer.objects.get().email.endswith("@erased.invalid")
