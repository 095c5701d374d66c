import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from integrations import helpdesks
from integrations.models import HelpdeskConnection, InboundDelivery
from surveys.models import Invitation, Ticket
from tests.conftest import NOW, post_concurrently

pytestmark = pytest.mark.django_db

HS_SECRET = "hs-secret-for-tests"
IC_SECRET = "ic-secret-for-tests"


def helpscout_body(**overrides):
    body = {
        "id": 9001,
        "number": 412,
        "mailboxId": 55,
        "type": "email",
        "status": "closed",
        "subject": "Parcel never arrived",
        "createdAt": "2026-11-20T08:00:00Z",
        "closedAt": "2026-11-21T11:50:00Z",
        "primaryCustomer": {"id": 7, "first": "Greta", "last": "Lind", "email": "greta@example.se"},
        "assignee": {"id": 3, "first": "Lars", "last": "Holm", "email": "lars@support.example"},
        "tags": [{"id": 1, "tag": "shipping"}, {"id": 2, "tag": "vip"}],
        "_links": {"web": {"href": "https://secure.helpscout.net/conversation/9001/412/"}},
    }
    body.update(overrides)
    return json.dumps(body).encode()


def intercom_body(topic="conversation.admin.closed", created_at=None, **item_overrides):
    item = {
        "type": "conversation",
        "id": "1911149811",
        "created_at": int(datetime(2026, 11, 20, 9, 0, tzinfo=UTC).timestamp()),
        "state": "closed",
        "title": None,
        "source": {
            "type": "conversation",
            "subject": "<p>Card declined</p>",
            "author": {"type": "user", "id": "5f", "name": "Eero Virtanen", "email": "eero@ex.fi"},
        },
        "statistics": {
            "last_close_at": int(datetime(2026, 11, 21, 11, 55, tzinfo=UTC).timestamp())
        },
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "9", "name": "billing"}]},
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": [
                {
                    "part_type": "close",
                    "author": {
                        "type": "admin",
                        "id": "814",
                        "name": "Lars Holm",
                        "email": "lars@support.example",
                    },
                }
            ],
        },
    }
    item.update(item_overrides)
    notification = {
        "type": "notification_event",
        "app_id": "abc123",
        "id": "notif_77",
        "topic": topic,
        "created_at": created_at if created_at is not None else int(NOW.timestamp()),
        "data": {"type": "notification_event_data", "item": item},
    }
    return json.dumps(notification).encode()


def post_helpscout(client, body, *, secret=HS_SECRET, event="convo.status", signed_body=None):
    signature = helpdesks.helpscout_signature(secret=secret, body=signed_body or body)
    return client.post(
        "/hooks/helpscout/",
        data=body,
        content_type="application/json",
        headers={"X-HelpScout-Signature": signature, "X-HelpScout-Event": event},
    )


def post_intercom(client, body, *, secret=IC_SECRET, signed_body=None):
    signature = helpdesks.intercom_signature(secret=secret, body=signed_body or body)
    return client.post(
        "/hooks/intercom/",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature": signature},
    )


@pytest.fixture(autouse=True)
def _secrets(settings, time_machine):
    settings.HELPSCOUT_WEBHOOK_SECRET = HS_SECRET
    settings.INTERCOM_CLIENT_SECRET = IC_SECRET
    settings.HELPDESK_WEBHOOK_TOLERANCE = 300
    time_machine.move_to(NOW, tick=False)


def test_helpscout_signature_matches_known_vector():
    # From: printf '%s' "$BODY" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64
    signature = helpdesks.helpscout_signature(secret=HS_SECRET, body=b'{"id": 9001}')

    assert signature == "dS8FkjDm1bE3CN/8rpnpY09XWVU="


def test_intercom_signature_matches_known_vector():
    # From: printf '%s' "$BODY" | openssl dgst -sha1 -hmac "$SECRET"
    signature = helpdesks.intercom_signature(secret=IC_SECRET, body=b'{"topic": "ping"}')

    assert signature == "sha1=38cde2c425e42c2fe4a5b6bbc4d6cb68e686d9d4"


def test_helpscout_closed_conversation_is_surveyed(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_helpscout(client, helpscout_body())

    ticket = Ticket.objects.get()
    assert response.status_code == 202
    assert (ticket.source, ticket.external_id, ticket.status) == ("helpscout", "9001", "solved")
    assert (ticket.requester.email, ticket.requester.name) == ("greta@example.se", "Greta Lind")
    assert (ticket.assignee.email, ticket.channel) == ("lars@support.example", "email")
    assert ticket.tags == ["shipping", "vip"]
    assert ticket.url == "https://secure.helpscout.net/conversation/9001/412/"
    assert ticket.solved_at == datetime(2026, 11, 21, 11, 50, tzinfo=UTC)
    assert Invitation.objects.filter(survey__ticket=ticket).count() == 3


def test_helpscout_reopen_cancels_the_pending_survey(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_helpscout(client, helpscout_body())
        response = post_helpscout(client, helpscout_body(status="active"))

    assert response.status_code == 202
    assert Ticket.objects.get().status == "open"
    assert set(Invitation.objects.values_list("survey__state", flat=True)) == {"cancelled"}


def test_helpscout_retry_is_a_duplicate(client):
    post_helpscout(client, helpscout_body())
    response = post_helpscout(client, helpscout_body())

    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert InboundDelivery.objects.count() == 1


def test_helpscout_tampered_body_is_401(client):
    response = post_helpscout(
        client, helpscout_body(status="closed "), signed_body=helpscout_body()
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid signature."}
    assert InboundDelivery.objects.count() == 0


def test_helpscout_wrong_secret_is_401(client):
    response = post_helpscout(client, helpscout_body(), secret="not-the-secret")

    assert response.status_code == 401
    assert InboundDelivery.objects.count() == 0


def test_helpscout_without_configured_secret_is_401(client, settings):
    settings.HELPSCOUT_WEBHOOK_SECRET = ""

    response = post_helpscout(client, helpscout_body(), secret="")

    assert response.status_code == 401
    assert "No Help Scout webhook secret" in response.json()["detail"]


def test_helpscout_other_events_are_acknowledged_and_ignored(client):
    response = post_helpscout(client, helpscout_body(), event="convo.note.created")

    assert response.status_code == 200
    assert response.json() == {"ignored": "convo.note.created"}
    assert InboundDelivery.objects.count() == 0


def test_helpscout_not_json_is_400(client):
    response = post_helpscout(client, b"closed")

    assert response.status_code == 400
    assert InboundDelivery.objects.count() == 0


def test_helpscout_secret_from_admin_connection_wins(client):
    HelpdeskConnection.objects.create(provider="helpscout", secret="from-the-admin")

    assert post_helpscout(client, helpscout_body()).status_code == 401
    assert post_helpscout(client, helpscout_body(), secret="from-the-admin").status_code == 202


def test_intercom_closed_conversation_is_surveyed(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_intercom(client, intercom_body())

    ticket = Ticket.objects.get()
    assert response.status_code == 202
    assert (ticket.source, ticket.external_id, ticket.status) == (
        "intercom",
        "1911149811",
        "solved",
    )
    assert (ticket.requester.email, ticket.requester.name) == ("eero@ex.fi", "Eero Virtanen")
    assert (ticket.assignee.email, ticket.channel, ticket.subject) == (
        "lars@support.example",
        "chat",
        "Card declined",
    )
    assert (
        ticket.url == "https://app.intercom.com/a/apps/abc123/inbox/inbox/conversation/1911149811"
    )
    assert ticket.solved_at == datetime(2026, 11, 21, 11, 55, tzinfo=UTC)
    assert Invitation.objects.filter(survey__ticket=ticket).count() == 3


def test_intercom_retry_is_a_duplicate(client):
    post_intercom(client, intercom_body())
    response = post_intercom(client, intercom_body())

    assert response.status_code == 200
    assert InboundDelivery.objects.count() == 1


@pytest.mark.parametrize("minutes", [-6, 6])
def test_intercom_outside_the_replay_window_is_401(client, minutes):
    created_at = int(NOW.timestamp()) + minutes * 60

    response = post_intercom(client, intercom_body(created_at=created_at))

    assert response.status_code == 401
    assert response.json() == {"detail": "Timestamp outside the replay window."}


def test_intercom_tampered_body_is_401(client):
    body = intercom_body()
    response = post_intercom(client, body.replace(b"Eero", b"Mallory"), signed_body=body)

    assert response.status_code == 401
    assert InboundDelivery.objects.count() == 0


def test_intercom_wrong_secret_is_401(client):
    response = post_intercom(client, intercom_body(), secret="not-the-secret")

    assert response.status_code == 401


def test_intercom_ping_is_acknowledged(client):
    response = post_intercom(client, intercom_body(topic="ping"))

    assert response.status_code == 200
    assert response.json() == {"ignored": "ping"}
    assert InboundDelivery.objects.count() == 0


def test_intercom_closed_without_conversation_is_400(client):
    body = json.dumps({"topic": "conversation.admin.closed", "created_at": int(NOW.timestamp())})

    response = post_intercom(client, body.encode())

    assert response.status_code == 400
    assert response.json() == {"detail": "The notification carries no conversation."}


def test_intercom_conversation_without_a_customer_keeps_the_error(
    client, django_capture_on_commit_callbacks
):
    bot = {"type": "conversation", "author": {"type": "bot", "id": "1", "name": "Fin"}}
    with django_capture_on_commit_callbacks(execute=True):
        post_intercom(client, intercom_body(source=bot))

    delivery = InboundDelivery.objects.get()
    assert delivery.processed_at is not None
    assert "requester" in delivery.error
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("provider", ["helpscout", "intercom"])
def test_setup_page_shows_url_and_steps(admin_client, settings, provider):
    response = admin_client.get(f"/setup/{provider}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert f"{settings.SITE_URL}/hooks/{provider}/" in page
    assert (HS_SECRET if provider == "helpscout" else IC_SECRET) in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["helpscout", "intercom"])
def test_100_concurrent_deliveries_make_one_ticket(live_server, time_machine, provider):
    time_machine.move_to(timezone.now(), tick=True)
    now = int(timezone.now().timestamp())
    if provider == "helpscout":
        body, header = helpscout_body(), "X-HelpScout-Signature"
        signature = helpdesks.helpscout_signature(secret=HS_SECRET, body=body)
    else:
        body, header = intercom_body(created_at=now), "X-Hub-Signature"
        signature = helpdesks.intercom_signature(secret=IC_SECRET, body=body)
    headers = {"Content-Type": "application/json", header: signature}
    headers["X-HelpScout-Event"] = "convo.status"

    statuses = post_concurrently(f"{live_server.url}/hooks/{provider}/", body, headers)

    assert statuses == [200] * 99 + [202]
    assert Ticket.objects.count() == 1
    assert Invitation.objects.filter(kind="csat").count() == 1


def test_integrations_page_shows_each_helpdesk_with_its_calls(admin_client, client, settings):
    settings.ZENDESK_WEBHOOK_SECRET = ""
    post_helpscout(client, helpscout_body())
    post_helpscout(client, helpscout_body(id=9002, primaryCustomer={}))

    page = admin_client.get("/setup/")

    rows = {d.provider: d for d in page.context["helpdesks"]}
    assert page.status_code == 200
    assert (rows["helpscout"].configured, rows["helpscout"].received_week) == (True, 2)
    assert rows["helpscout"].last_received_at == NOW
    assert (rows["zendesk"].configured, rows["zendesk"].received_week) == (False, 0)
    assert "never" in page.content.decode()


def test_integrations_page_counts_unreadable_calls(
    admin_client, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_helpscout(client, helpscout_body(primaryCustomer={}))

    page = admin_client.get("/setup/")

    assert {d.provider: d.failed_week for d in page.context["helpdesks"]}["helpscout"] == 1
