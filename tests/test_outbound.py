import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from integrations import outbound
from integrations import tasks as integrations_tasks
from integrations.models import WebhookDelivery, WebhookSubscription
from surveys import answering
from surveys.models import Invitation
from tests.conftest import NOW, QuietHandler, loopback_server

pytestmark = pytest.mark.django_db

# The test vector of the Standard Webhooks specification (standard-webhooks/standard-webhooks).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver(QuietHandler):
    """Answers 500 to the first `failures` calls, then 204; keeps what it got."""

    failures = 3
    calls: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(500 if len(self.calls) <= self.failures else 204)
        self.end_headers()


@pytest.fixture
def receiver():
    Receiver.calls, Receiver.failures = [], 3
    with loopback_server(Receiver) as url:
        yield f"{url}/hook", Receiver.calls


def verify(secret, headers, body):
    """A receiver's check, written from the specification, not from outbound.py."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return headers["webhook-signature"] == f"v1,{expected}"


def publish(**overrides):
    event = {"event_type": "response.created", "key": "7:v1", "data": {"id": 7}, "now": NOW}
    event.update(overrides)
    return outbound.event_publish(**event)


def test_outbound_signature_matches_the_specification_vector():
    signature = outbound.signature(
        secret=VECTOR_SECRET,
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body='{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_outbound_subscription_post_returns_the_secret_once(api):
    body = {"url": "https://hooks.example.com/kp", "events": ["response.created"]}

    response = api.post("/api/v1/webhooks", data=body, format="json")

    subscription = WebhookSubscription.objects.get()
    assert response.status_code == 201
    assert response.json()["secret"] == subscription.secret
    assert subscription.secret.startswith("whsec_")
    assert len(base64.b64decode(subscription.secret.removeprefix("whsec_"))) == 24


def test_outbound_subscription_post_unknown_event_is_400(api):
    body = {"url": "https://hooks.example.com/kp", "events": ["ticket.deleted"]}

    response = api.post("/api/v1/webhooks", data=body, format="json")

    assert response.status_code == 400
    assert "events" in response.json()


def test_outbound_event_published_twice_is_one_delivery():
    outbound.subscription_create(url="https://hooks.example.com/", events=["response.created"])
    outbound.subscription_create(url="https://other.example.com/", events=["followup.created"])

    assert (publish(), publish()) == (1, 0)
    assert WebhookDelivery.objects.count() == 1


def test_outbound_response_saved_publishes_created_then_updated(
    sent_survey, django_capture_on_commit_callbacks
):
    outbound.subscription_create(
        url="https://hooks.example.com/", events=["response.created", "response.updated"]
    )
    ticket, _token = sent_survey()
    invitations = list(Invitation.objects.filter(survey__ticket=ticket).filter(kind="csat"))

    with django_capture_on_commit_callbacks(execute=True):  # the worker processes each
        answering.response_record(invitations=invitations, answers={"csat": 4}, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        answering.response_record(
            invitations=invitations, answers={"csat": 5}, now=NOW + timedelta(minutes=1)
        )

    events = list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True))
    assert events == ["response.created", "response.updated"]
    body = json.loads(WebhookDelivery.objects.order_by("pk").last().body)
    assert (body["type"], body["data"]["raw_score"]) == ("response.updated", 5)


def test_outbound_delivery_retries_until_the_receiver_accepts(receiver):
    url, calls = receiver
    subscription = outbound.subscription_create(url=url, events=["response.created"])
    publish()
    delivery = WebhookDelivery.objects.get()

    now = NOW
    for wait in [timedelta(0), *outbound.BACKOFF[:3]]:
        now += wait
        outbound.webhook_delivery_send(delivery_id=delivery.pk, now=now)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 4, 204)
    assert len({headers["webhook-id"] for headers, _body in calls}) == 1
    assert all(verify(subscription.secret, headers, body) for headers, body in calls)
    assert len(calls) == 4


def test_outbound_delivery_is_not_sent_before_its_backoff(receiver):
    url, calls = receiver
    outbound.subscription_create(url=url, events=["response.created"])
    publish()
    delivery = WebhookDelivery.objects.get()

    first = outbound.webhook_delivery_send(delivery_id=delivery.pk, now=NOW)
    again = outbound.webhook_delivery_send(delivery_id=delivery.pk, now=NOW + timedelta(seconds=1))

    assert first is not None and again is None
    assert len(calls) == 1
    assert WebhookDelivery.objects.get().next_attempt_at == NOW + outbound.BACKOFF[0]


def test_outbound_delivery_gives_up_after_a_day_and_disables_the_subscription(receiver):
    url, _calls = receiver
    Receiver.failures = 100
    subscription = outbound.subscription_create(url=url, events=["response.created"])
    WebhookSubscription.objects.update(failing_since=NOW - timedelta(hours=1))
    publish()
    delivery = WebhookDelivery.objects.get()
    late = NOW + timedelta(hours=23, minutes=59)
    WebhookDelivery.objects.update(attempts=6, next_attempt_at=late)

    outbound.webhook_delivery_send(delivery_id=delivery.pk, now=late)

    subscription.refresh_from_db()
    assert WebhookDelivery.objects.get().state == "failed"
    assert subscription.active is False


def test_outbound_switched_off_subscription_is_reported_to_the_admins(
    receiver, mailoutbox, django_user_model
):
    url, _calls = receiver
    Receiver.failures = 100
    django_user_model.objects.create_superuser("root", "root@kundpuls.example", "pw")
    subscription = outbound.subscription_create(url=url, events=["response.created"])
    WebhookSubscription.objects.update(failing_since=NOW - timedelta(hours=25))
    publish()

    outbound.webhook_delivery_send(delivery_id=WebhookDelivery.objects.get().pk, now=NOW)
    outbound.webhook_delivery_send(delivery_id=WebhookDelivery.objects.get().pk, now=NOW)

    [message] = mailoutbox
    assert (message.to, message.subject) == (
        ["root@kundpuls.example"],
        f"Webhook switched off: {url}",
    )
    assert "Last error: HTTP 500" in message.body
    assert f"/admin/integrations/webhooksubscription/{subscription.pk}/change/" in message.body


def test_outbound_sweep_sends_due_deliveries_and_rescues_stuck_ones(receiver, time_machine):
    url, calls = receiver
    Receiver.failures = 0
    outbound.subscription_create(url=url, events=["response.created"])
    publish(key="1:a")
    publish(key="2:a")
    stuck = WebhookDelivery.objects.order_by("pk").first()
    WebhookDelivery.objects.filter(pk=stuck.pk).update(
        state="sending", claimed_at=NOW - timedelta(minutes=10)
    )
    time_machine.move_to(NOW, tick=False)

    swept = integrations_tasks.integrations_sweep()

    assert swept == 2
    assert list(WebhookDelivery.objects.values_list("state", flat=True)) == ["delivered"] * 2
    assert len(calls) == 2


def test_outbound_subscription_to_a_private_address_is_400(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    body = {"url": "http://127.0.0.1:8080/hook", "events": ["response.created"]}

    response = api.post("/api/v1/webhooks", data=body, format="json")

    assert response.status_code == 400
    assert "Must be a public address" in response.json()["url"][0]
    assert WebhookSubscription.objects.count() == 0


def test_outbound_delivery_to_a_private_address_is_never_sent(receiver, settings):
    url, calls = receiver
    outbound.subscription_create(url=url, events=["response.created"])
    publish()
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    outbound.webhook_delivery_send(delivery_id=WebhookDelivery.objects.get().pk, now=NOW)

    assert calls == []
    assert "refused: 127.0.0.1 is a private" in WebhookDelivery.objects.get().last_error


def test_outbound_url_refusal_allows_a_public_address(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    assert outbound.url_refusal("https://93.184.215.14/hook") == ""
    assert "private" in outbound.url_refusal("http://10.1.2.3/hook")


def test_outbound_a_held_answer_is_published_only_when_approved(
    sent_survey, django_capture_on_commit_callbacks
):
    outbound.subscription_create(
        url="https://hooks.example.com/", events=["response.created", "response.updated"]
    )
    ticket, _token = sent_survey()
    invitations = list(Invitation.objects.filter(survey__ticket=ticket).filter(kind="csat"))
    [response] = answering.response_record(
        invitations=invitations, answers={"csat": 2}, now=NOW, held_reason="answered too soon"
    )
    assert not WebhookDelivery.objects.exists()

    for hours in (1, 2):
        with django_capture_on_commit_callbacks(execute=True):  # the worker processes it
            answering.responses_release(
                response_ids=[response.pk], now=NOW + timedelta(hours=hours)
            )

    [delivery] = WebhookDelivery.objects.all()
    body = json.loads(delivery.body)
    assert (body["type"], body["data"]["id"], body["data"]["raw_score"]) == (
        "response.created",
        response.pk,
        2,
    )
