"""The health page and /healthz on the running system: a stopped worker, a stopped beat,
sends that fail and a stopped Redis each show within a minute, and clear when fixed."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from .conftest import Browser, Stack, ticket_event, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def health(stack: Stack) -> tuple[int, dict]:
    answer = Browser().request("GET", stack.web_url + "/healthz", timeout=10)
    return answer.status, answer.json()["checks"]


def failing(stack: Stack, name: str):
    def check() -> bool:
        status, checks = health(stack)
        return status == 503 and not checks[name]["ok"]

    return check


def healthy(stack: Stack):
    def check() -> dict | None:
        status, checks = health(stack)
        return checks if status == 200 else None

    return check


def test_each_fault_shows_within_a_minute_and_clears(stack: Stack) -> None:
    api = stack.api()
    checks = wait_until(healthy(stack), timeout=60, what="a healthy system")
    assert set(checks) == {
        "database",
        "broker",
        "worker",
        "beat",
        "sending",
        "failed_sends",
        "helpdesk",
        "webhooks",
    }

    [worker] = stack.workers()
    worker.stop()
    wait_until(failing(stack, "worker"), timeout=60, what="the stopped worker to show")
    stack.start_worker("w2")
    wait_until(healthy(stack), timeout=60, what="health after the worker is back")

    beat = next(p for p in stack.processes if p.name == "beat")
    beat.stop()
    wait_until(failing(stack, "beat"), timeout=60, what="the stopped beat to show")
    stack.processes.remove(beat)
    stack.start_beat()
    wait_until(healthy(stack), timeout=60, what="health after beat is back")

    stack.mailbox.refused.add("gone@example.se")
    gone = ticket_event(external_id="61001", requester={"email": "gone@example.se", "name": "X"})
    assert api.post("/api/v1/tickets", gone).status == 201
    wait_until(failing(stack, "failed_sends"), timeout=60, what="the failed send to show")
    page = Browser().request("GET", stack.web_url + "/healthz").json()
    assert "550" in " ".join(page["checks"]["failed_sends"]["details"])
    try:
        call_command("health", stdout=open("/dev/null", "w"))  # noqa: SIM115
    except SystemExit as exit_:
        assert exit_.code == 1
    else:
        raise AssertionError("manage.py health exited 0 with a failed send")
    fine = ticket_event(external_id="61002", requester={"email": "kim@example.se", "name": "K"})
    assert api.post("/api/v1/tickets", fine).status == 201
    wait_until(healthy(stack), timeout=60, what="health once an email goes out again")

    # Celery 5.7 can crash a worker that loses the broker while it holds an
    # unacknowledged message (see test_redis_down): stop Redis between sweeps.
    stack.wait_between_sweeps()
    stack.redis.process.stop()
    wait_until(failing(stack, "broker"), timeout=60, what="the stopped Redis to show")
    stack.redis.start()
    wait_until(healthy(stack), timeout=90, what="health after Redis is back")
