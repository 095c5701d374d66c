import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from integrations import helpdesks, webhooks
from integrations import tasks as integrations_tasks
from integrations.models import HelpdeskConnection, InboundDelivery
from surveys.models import Invitation, Ticket
from tests.conftest import NOW, post_concurrently

pytestmark = pytest.mark.django_db

SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
TOKEN = "fd-token-for-tests"
STAMP = "2026-11-21T12:00:00Z"


def zendesk_body(**overrides):
    body = {
        "account": "acme",
        "id": "48213",
        "subject": "Refund not received",
        "status": "Solved",
        "via": "Mail",
        "tags": "vip returns",
        "url": "acme.zendesk.com/agent/tickets/48213",
        "group": "Billing",
        "requester": {"email": "anna@example.se", "name": "Anna Berg", "language": "Svenska"},
        "assignee": {"email": "lars@support.example", "name": "Lars Holm"},
        "created_at": "2026-11-20T08:14Z",
        "solved_at": "2026-11-21T11:58Z",
    }
    body.update(overrides)
    return json.dumps(body).encode()


def freshdesk_body(**overrides):
    body = {
        "id": "731",
        "subject": "Login fails",
        "status": "Resolved",
        "source": "Portal",
        "tags": "vip, app",
        "url": "https://acme.freshdesk.com/helpdesk/tickets/731",
        "group": "Support",
        "requester": {"email": "bo@example.se", "name": "Bo Ek"},
        "agent": {"email": "", "name": ""},
    }
    body.update(overrides)
    return json.dumps(body).encode()


def post_zendesk(client, body, *, secret=SECRET, stamp=STAMP, signed_body=None):
    signature = helpdesks.zendesk_signature(
        secret=secret, timestamp=stamp, body=signed_body or body
    )
    return client.post(
        "/hooks/zendesk/",
        data=body,
        content_type="application/json",
        headers={
            "X-Zendesk-Webhook-Signature": signature,
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        },
    )


def post_freshdesk(client, body, *, token=TOKEN):
    headers = {"X-Kundpuls-Token": token} if token is not None else {}
    return client.post(
        "/hooks/freshdesk/", data=body, content_type="application/json", headers=headers
    )


@pytest.fixture(autouse=True)
def _secrets(settings, time_machine):
    settings.ZENDESK_WEBHOOK_SECRET = SECRET
    settings.FRESHDESK_WEBHOOK_TOKEN = TOKEN
    settings.HELPDESK_WEBHOOK_TOLERANCE = 300
    time_machine.move_to(NOW, tick=False)


def test_zendesk_signature_matches_known_vector():
    # From: printf '%s' "$STAMP$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
    signature = helpdesks.zendesk_signature(secret=SECRET, timestamp=STAMP, body=b'{"id": "48213"}')

    assert signature == "r2rzcDWfZ3kikiGi5+TOtzGG3jC/4WAaDYUpU0NzHyA="


def test_zendesk_post_signed_ingests_the_ticket(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_zendesk(client, zendesk_body())

    ticket = Ticket.objects.get()
    assert response.status_code == 202
    assert response.json()["duplicate"] is False
    assert (ticket.source, ticket.external_id, ticket.status) == ("zendesk", "48213", "solved")
    assert (ticket.channel, ticket.tags, ticket.team.name) == (
        "email",
        ["returns", "vip"],
        "Billing",
    )
    assert (ticket.requester.email, ticket.requester.locale) == ("anna@example.se", "sv")
    assert ticket.assignee.email == "lars@support.example"
    assert ticket.solved_at == datetime(2026, 11, 21, 11, 58, tzinfo=UTC)
    assert Invitation.objects.filter(survey__ticket=ticket).count() == 3
    assert InboundDelivery.objects.get().processed_at == NOW
    assert InboundDelivery.objects.get().body == zendesk_body().decode()


def test_zendesk_post_tampered_body_is_401(client):
    response = post_zendesk(client, zendesk_body(status="Solved "), signed_body=zendesk_body())

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid signature."}
    assert InboundDelivery.objects.count() == 0


def test_zendesk_post_wrong_secret_is_401(client):
    response = post_zendesk(client, zendesk_body(), secret="not-the-secret")

    assert response.status_code == 401
    assert InboundDelivery.objects.count() == 0


@pytest.mark.parametrize("minutes", [-6, 6])
def test_zendesk_post_timestamp_outside_window_is_401(client, minutes):
    stamp = (NOW + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    response = post_zendesk(client, zendesk_body(), stamp=stamp)

    assert response.status_code == 401
    assert response.json() == {"detail": "Timestamp outside the replay window."}


def test_zendesk_post_window_follows_setting(client, settings):
    settings.HELPDESK_WEBHOOK_TOLERANCE = 900
    stamp = (NOW - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")

    response = post_zendesk(client, zendesk_body(), stamp=stamp)

    assert response.status_code == 202


def test_zendesk_post_without_configured_secret_is_401(client, settings):
    settings.ZENDESK_WEBHOOK_SECRET = ""

    response = post_zendesk(client, zendesk_body(), secret="")

    assert response.status_code == 401
    assert response.json() == {"detail": "No Zendesk signing secret is configured."}


def test_zendesk_secret_from_admin_connection_wins(client):
    HelpdeskConnection.objects.create(provider="zendesk", secret="from-the-admin")

    from_env = post_zendesk(client, zendesk_body(), secret=SECRET)
    from_admin = post_zendesk(client, zendesk_body(), secret="from-the-admin")

    assert (from_env.status_code, from_admin.status_code) == (401, 202)


def test_zendesk_post_duplicate_is_200_without_reprocessing(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_zendesk(client, zendesk_body())
    before = list(Ticket.objects.values("pk", "updated_at"))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = post_zendesk(client, zendesk_body())

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert callbacks == []
    assert list(Ticket.objects.values("pk", "updated_at")) == before
    assert InboundDelivery.objects.count() == 1


def test_zendesk_post_not_json_is_400(client):
    response = post_zendesk(client, b"not json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Body is not JSON")


def test_zendesk_get_is_405(client):
    assert client.get("/hooks/zendesk/").status_code == 405


def test_freshdesk_post_with_token_ingests_the_ticket(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_freshdesk(client, freshdesk_body())

    ticket = Ticket.objects.get()
    delivery = InboundDelivery.objects.get()
    assert response.status_code == 202
    assert (ticket.source, ticket.external_id, ticket.status) == ("freshdesk", "731", "solved")
    assert (ticket.channel, ticket.tags, ticket.assignee) == ("web", ["app", "vip"], None)
    assert ticket.solved_at == NOW
    assert (delivery.account, delivery.error) == ("acme.freshdesk.com", "")


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_freshdesk_post_without_the_token_is_401(client, token):
    response = post_freshdesk(client, freshdesk_body(), token=token)

    assert response.status_code == 401
    assert InboundDelivery.objects.count() == 0


def test_freshdesk_retry_in_the_same_minute_is_a_duplicate(client, time_machine):
    post_freshdesk(client, freshdesk_body())
    time_machine.move_to(NOW + timedelta(seconds=40), tick=False)

    again = post_freshdesk(client, freshdesk_body())

    assert again.status_code == 200
    assert InboundDelivery.objects.count() == 1


def test_inbound_delivery_process_twice_ingests_once(client):
    post_zendesk(client, zendesk_body())  # on-commit task not run
    delivery = InboundDelivery.objects.get()

    first = integrations_tasks.inbound_delivery_process(delivery.pk)
    second = integrations_tasks.inbound_delivery_process(delivery.pk)

    assert (first, second) == (True, False)
    assert Ticket.objects.count() == 1
    assert InboundDelivery.objects.get().attempts == 1


def test_inbound_delivery_unmappable_keeps_the_error(client, django_capture_on_commit_callbacks):
    body = zendesk_body(requester={"email": "", "name": "Nobody"})
    with django_capture_on_commit_callbacks(execute=True):
        post_zendesk(client, body)

    delivery = InboundDelivery.objects.get()
    assert delivery.processed_at == NOW
    assert "email" in delivery.error
    assert Ticket.objects.count() == 0


def test_inbound_deliveries_sweep_processes_what_the_broker_lost(client, time_machine):
    post_zendesk(client, zendesk_body())  # on-commit task not run: the broker was down
    assert integrations_tasks.inbound_deliveries_sweep() == 0  # too fresh: its task may still come

    time_machine.move_to(NOW + timedelta(minutes=2), tick=False)
    swept = integrations_tasks.inbound_deliveries_sweep()

    assert swept == 1
    assert Ticket.objects.count() == 1
    assert integrations_tasks.inbound_deliveries_sweep() == 0


def test_inbound_deliveries_sweep_gives_up_after_max_attempts(client, time_machine):
    post_zendesk(client, zendesk_body())
    InboundDelivery.objects.update(attempts=webhooks.MAX_ATTEMPTS)
    time_machine.move_to(NOW + timedelta(minutes=2), tick=False)

    assert integrations_tasks.inbound_deliveries_sweep() == 0


def test_zendesk_event_maps_statuses_and_defaults():
    key = helpdesks.DeliveryKey("acme", "1", NOW)
    payload = json.loads(zendesk_body(status="Hold", assignee={"email": "", "name": ""}))

    event = helpdesks.zendesk_event(payload, key=key)

    assert (event["status"], event["solved_at"], event["assignee"]) == ("pending", None, None)


def test_setup_page_shows_url_secret_and_body(admin_client):
    response = admin_client.get("/setup/zendesk/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "http://testserver/hooks/zendesk/" in html
    assert SECRET in html
    assert "{{ticket.requester.email}}" in html


def test_setup_page_freshdesk_shows_header(admin_client):
    html = admin_client.get("/setup/freshdesk/").content.decode()

    assert f"X-Kundpuls-Token: {TOKEN}" in html


def test_setup_page_is_staff_only(client):
    response = client.get("/setup/zendesk/")

    assert response.status_code == 302
    assert TOKEN not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_zendesk_100_concurrent_deliveries_make_one_ticket(live_server, time_machine):
    time_machine.move_to(timezone.now(), tick=True)
    body = zendesk_body(solved_at=timezone.now().strftime("%Y-%m-%dT%H:%MZ"))
    stamp = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = helpdesks.zendesk_signature(secret=SECRET, timestamp=stamp, body=body)

    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }

    statuses = post_concurrently(f"{live_server.url}/hooks/zendesk/", body, headers)

    assert statuses == [200] * 99 + [202]
    assert Ticket.objects.count() == 1
    assert sorted(Invitation.objects.values_list("kind", flat=True)) == ["ces", "csat", "nps"]
    assert InboundDelivery.objects.get().processed_at is not None


def test_a_date_that_is_not_one_is_an_error_on_the_delivery_not_the_time_of_arrival(
    client, django_capture_on_commit_callbacks
):
    """Zendesk sends the date as its placeholder renders it; a wrong one must not
    become "solved now" silently. The delivery keeps the error; the health page shows
    it, and clears once a later delivery goes through."""
    from operations.services import helpdesk_check

    with django_capture_on_commit_callbacks(execute=True):
        response = post_zendesk(client, zendesk_body(solved_at="21/11/2026 11:58"))

    assert response.status_code == 202
    delivery = InboundDelivery.objects.get()
    assert "solved_at is not a date" in delivery.error
    assert not Ticket.objects.exists()
    check = helpdesk_check(NOW)
    assert not check.ok and "solved_at is not a date" in " ".join(check.details)

    with django_capture_on_commit_callbacks(execute=True):
        post_zendesk(client, zendesk_body(id="48214"))

    assert helpdesk_check(NOW).ok
