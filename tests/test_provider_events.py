"""Email provider events: surveys sent through a provider's API (django-anymail), its
tracking webhooks marking invitations delivered, bounced or complained, suppression."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from integrations.models import EmailEvent
from metrics import rebuild
from metrics.check import rollups_differences
from surveys import answering, reminders, sending, services
from surveys.models import Customer, Invitation
from tests.conftest import NOW, QuietHandler, _validated, loopback_server, ticket_event

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

SECRET = "kundpuls:Ue8wq3Zr"
MAILGUN_KEY = "mailgun-signing-key-for-tests"


class PostmarkApi(QuietHandler):
    """Postmark's send API as the Postmark backend calls it: answers a MessageID, or
    `refusal` (HTTP status, error code, message) when a test sets one."""

    sent: list
    refusal = None

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        message_id = str(uuid.uuid4())
        status, answer = 200, {"To": body["To"], "SubmittedAt": "2026-11-21T14:00:00Z"}
        answer |= {"MessageID": message_id, "ErrorCode": 0, "Message": "OK"}
        if self.refusal:
            status, code, text = self.refusal
            answer, message_id = {"ErrorCode": code, "Message": text}, None
        self.sent.append({"path": self.path, "body": body, "message_id": message_id})
        answer = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def postmark(settings):
    """Kundpuls configured for Postmark, its API on loopback; yields the sent emails."""
    PostmarkApi.sent, PostmarkApi.refusal = [], None
    with loopback_server(PostmarkApi) as url:
        settings.EMAIL_PROVIDER = "postmark"
        settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
        settings.ANYMAIL = {
            "WEBHOOK_SECRET": SECRET,
            "POSTMARK_SERVER_TOKEN": "server-token",
            "POSTMARK_API_URL": f"{url}/",
        }
        yield PostmarkApi.sent


def survey(at=NOW, **overrides):
    """A ticket solved at `at`, whose survey email went out two hours later."""
    solved = (at - timedelta(hours=1, minutes=30)).isoformat()
    event = _validated(ticket_event(solved_at=solved, **overrides))
    result = services.ticket_ingest(event=event, now=at)
    sending.survey_email_send(ticket_id=result.ticket.pk, now=at + timedelta(hours=2))
    return result.ticket


def auth(secret=SECRET):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def post_event(client, esp, payload, secret=SECRET):
    return client.post(
        f"/anymail/{esp}/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        **auth(secret),
    )


def postmark_bounce(message_id, *, kind="HardBounce", event_id=4323372036854775807):
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": event_id,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, "
        "mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "anna@example.se",
        "From": "surveys@kundpuls.example",
        "BouncedAt": "2026-11-21T14:05:00Z",
        "DumpAvailable": False,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "How did we do?",
    }


def postmark_complaint(message_id):
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "outbound",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "",
        "Details": "Spam complaint from the recipient's mailbox provider",
        "Email": "anna@example.se",
        "From": "surveys@kundpuls.example",
        "BouncedAt": "2026-11-21T16:00:00Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "How did we do?",
    }


def postmark_delivery(message_id):
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": "anna@example.se",
        "Tag": "",
        "DeliveredAt": "2026-11-21T14:00:03Z",
        "Details": "Test delivery webhook details",
        "Metadata": {},
    }


def mailgun_event(message_id, *, severity="permanent", key=MAILGUN_KEY):
    token, timestamp = uuid.uuid4().hex, "1795270200"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {
            "event": "failed",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": 1795270200.32,
            "severity": severity,
            "reason": "bounce" if severity == "permanent" else "generic",
            "log-level": "error",
            "recipient": "anna@example.se",
            "message": {"headers": {"message-id": message_id.strip("<>"), "to": "anna@example.se"}},
            "delivery-status": {
                "code": 550 if severity == "permanent" else 421,
                "message": "5.1.1 The email account that you tried to reach does not exist",
                "description": "",
            },
        },
    }


# --- Sending through the provider ----------------------------------------------------


def test_it_sends_the_survey_through_postmark_and_keeps_its_message_id(postmark):
    ticket = survey()

    [sent] = postmark
    ids = set(ticket.surveys.values_list("message_id", flat=True))
    assert (sent["path"], sent["body"]["To"]) == ("/email", "anna@example.se")
    assert ids == {sent["message_id"]}
    assert Invitation.objects.filter(survey__ticket=ticket).count() == 3


def test_it_keeps_the_message_id_header_of_an_smtp_survey_email(mailoutbox):
    ticket = survey()

    header = mailoutbox[0].extra_headers["Message-ID"]
    assert header.startswith("<") and header.endswith("@testserver>")
    assert set(ticket.surveys.values_list("message_id", flat=True)) == {header}


def test_it_fails_a_survey_for_good_when_postmark_refuses_an_inactive_address(postmark):
    PostmarkApi.refusal = (
        422,
        406,
        "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
        "addresses: anna@example.se. Inactive recipients are ones that have generated a hard "
        "bounce, a spam complaint, or a manual suppression.",
    )

    ticket = survey()

    [invitation, *_others] = Invitation.objects.filter(survey__ticket=ticket).all()
    assert set(ticket.surveys.values_list("state", flat=True)) == {"failed"}
    assert invitation.survey.reason == "All message recipients were rejected or invalid"
    assert (len(postmark), invitation.survey.message_id) == (1, "")


def test_it_retries_a_survey_when_postmark_has_a_server_error(postmark):
    PostmarkApi.refusal = (500, 500, "Internal server error")

    ticket = survey()

    [(state, send_after)] = ticket.surveys.values_list("state", "send_after")
    retry = send_after - (NOW + timedelta(hours=2))
    assert state == "scheduled"
    assert timedelta(seconds=48) <= retry <= timedelta(seconds=72)  # a minute, +-20 %


def test_it_keeps_the_reminder_message_id(postmark):
    ticket = survey()
    lead = Invitation.objects.filter(survey__ticket=ticket).order_by("pk").first()

    reminders.survey_reminder_send(survey_id=lead.survey_id, now=NOW + timedelta(days=3, hours=3))

    reminder_id = postmark[-1]["message_id"]
    assert len(postmark) == 2
    assert set(ticket.surveys.values_list("reminder_message_id", flat=True)) == {reminder_id}


# --- Tracking webhooks ---------------------------------------------------------------


def test_it_marks_the_invitations_delivered_on_a_postmark_delivery(postmark, client):
    ticket = survey()

    response = post_event(client, "postmark", postmark_delivery(postmark[0]["message_id"]))

    assert response.status_code == 200
    delivered = set(ticket.surveys.values_list("delivered_at", flat=True))
    assert delivered == {NOW + timedelta(hours=2, seconds=3)}
    assert Customer.objects.get().suppressed_at is None


def test_it_suppresses_the_address_on_a_postmark_hard_bounce(postmark, client):
    ticket = survey()

    post_event(client, "postmark", postmark_bounce(postmark[0]["message_id"]))

    customer = Customer.objects.get()
    assert set(ticket.surveys.values_list("bounced_at", flat=True)) == {
        NOW + timedelta(hours=2, minutes=5)
    }
    assert customer.suppressed_at == NOW + timedelta(hours=2, minutes=5)
    assert customer.suppressed_reason.startswith("postmark: bounced on 2026-11-21 (The server")


def test_it_marks_complained_and_suppresses_on_a_postmark_spam_complaint(postmark, client):
    ticket = survey()

    post_event(client, "postmark", postmark_complaint(postmark[0]["message_id"]))

    customer = Customer.objects.get()
    assert set(ticket.surveys.values_list("complained_at", flat=True)) == {NOW + timedelta(hours=4)}
    assert set(ticket.surveys.values_list("bounced_at", flat=True)) == {None}
    assert customer.suppressed_reason == (
        "postmark: marked as spam on 2026-11-21 "
        "(Spam complaint from the recipient's mailbox provider)"
    )


def test_it_does_not_suppress_on_a_soft_bounce(postmark, client):
    ticket = survey()

    post_event(client, "postmark", postmark_bounce(postmark[0]["message_id"], kind="SoftBounce"))

    assert EmailEvent.objects.get().event_type == "bounced"
    assert set(ticket.surveys.values_list("bounced_at", flat=True)) == {None}
    assert Customer.objects.get().suppressed_at is None


def test_it_rejects_a_webhook_with_the_wrong_secret(postmark, client):
    ticket = survey()

    response = post_event(
        client, "postmark", postmark_bounce(postmark[0]["message_id"]), secret="kundpuls:guess"
    )

    assert response.status_code == 400
    assert EmailEvent.objects.count() == 0
    assert set(ticket.surveys.values_list("bounced_at", flat=True)) == {None}


def test_it_keeps_a_repeated_event_once(postmark, client):
    survey()
    message_id = postmark[0]["message_id"]

    answers = [
        post_event(client, "postmark", payload).status_code
        for payload in [postmark_bounce(message_id)] * 2 + [postmark_delivery(message_id)] * 2
    ]

    assert answers == [200] * 4
    assert sorted(EmailEvent.objects.values_list("event_type", flat=True)) == [
        "bounced",
        "delivered",
    ]


def test_it_keeps_an_event_about_an_unknown_message_and_changes_nothing(postmark, client):
    ticket = survey()

    response = post_event(
        client, "postmark", postmark_bounce("0a129aee-e1cd-480d-b08d-4f48548ff48d")
    )

    event = EmailEvent.objects.get()
    assert response.status_code == 200
    assert (event.esp_name, event.message_id) == (
        "postmark",
        "0a129aee-e1cd-480d-b08d-4f48548ff48d",
    )
    assert Customer.objects.get().suppressed_at is None
    assert set(ticket.surveys.values_list("bounced_at", flat=True)) == {None}


def test_it_ignores_events_of_a_provider_that_is_not_configured(postmark, client, settings):
    survey()
    settings.EMAIL_PROVIDER = ""

    response = post_event(client, "postmark", postmark_bounce(postmark[0]["message_id"]))

    assert response.status_code == 200
    assert EmailEvent.objects.count() == 0
    assert Customer.objects.get().suppressed_at is None


def test_it_suppresses_on_a_permanent_mailgun_failure(mailoutbox, client, settings):
    ticket = survey()
    settings.EMAIL_PROVIDER = "mailgun"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}

    response = post_event(
        client,
        "mailgun",
        mailgun_event(ticket.surveys.get().message_id),
    )

    assert response.status_code == 200
    assert Customer.objects.get().suppressed_reason.startswith("mailgun: bounced on 2026-11-21")
    assert ticket.surveys.filter(bounced_at__isnull=True).count() == 0


def test_it_does_not_suppress_on_a_temporary_mailgun_failure(mailoutbox, client, settings):
    ticket = survey()
    settings.EMAIL_PROVIDER = "mailgun"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    payload = mailgun_event(ticket.surveys.get().message_id, severity="temporary")

    post_event(client, "mailgun", payload)

    assert EmailEvent.objects.get().event_type == "deferred"
    assert Customer.objects.get().suppressed_at is None


def test_it_rejects_a_mailgun_event_with_a_forged_signature(mailoutbox, client, settings):
    ticket = survey()
    settings.EMAIL_PROVIDER = "mailgun"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    payload = mailgun_event(ticket.surveys.get().message_id, key="a-guessed-key")

    response = post_event(client, "mailgun", payload)

    assert response.status_code == 400
    assert EmailEvent.objects.count() == 0


def test_it_suppresses_on_a_sendgrid_bounce(mailoutbox, client, settings):
    ticket = survey()
    settings.EMAIL_PROVIDER = "sendgrid"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    event = {
        "email": "anna@example.se",
        "timestamp": 1795270200,
        "event": "bounce",
        "type": "bounce",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "status": "5.1.1",
        "sg_event_id": "ZmFrZS1ldmVudC1pZA",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "anymail_id": ticket.surveys.get().message_id,
    }

    post_event(client, "sendgrid", [event])

    assert Customer.objects.get().suppressed_reason.startswith("sendgrid: bounced")


# --- What suppression does -----------------------------------------------------------


def test_it_sends_no_further_survey_to_a_bounced_address(postmark, client):
    survey()
    post_event(client, "postmark", postmark_bounce(postmark[0]["message_id"]))

    later = survey(external_id="48999")

    assert len(postmark) == 1
    assert set(later.surveys.values_list("state", flat=True)) == {"suppressed"}
    assert later.surveys.get().reason.startswith(
        "email address suppressed: postmark: bounced on 2026-11-21"
    )


def test_it_sends_no_reminder_to_a_complaining_address(postmark, client):
    ticket = survey()
    post_event(client, "postmark", postmark_complaint(postmark[0]["message_id"]))

    due = reminders.reminders_due(now=NOW + timedelta(days=3, hours=3))
    sent = reminders.survey_reminder_send(
        survey_id=ticket.surveys.get().pk,
        now=NOW + timedelta(days=3, hours=3),
    )

    assert (due, sent, len(postmark)) == ([], [], 1)


def test_it_sends_surveys_again_once_suppression_is_cleared(postmark, client):
    survey()
    post_event(client, "postmark", postmark_bounce(postmark[0]["message_id"]))

    services.customer_unsuppress(customer=Customer.objects.get())
    later = survey(at=NOW + timedelta(days=8), external_id="48999")

    assert len(postmark) == 2
    assert set(later.surveys.values_list("state", flat=True)) == {"sent"}
    assert Customer.objects.get().suppressed_reason == ""


def test_it_drops_a_bounced_email_from_the_response_rate(postmark, client, api):
    answered = survey()
    survey(external_id="48999", requester={"email": "bo@example.se", "name": "Bo"})
    answering.response_record(
        invitations=list(Invitation.objects.filter(survey__ticket=answered).filter(kind="csat")),
        answers={"csat": 5},
        now=NOW + timedelta(hours=3),
    )
    rate = "/api/v1/metrics?metric=response_rate&from=2026-11-01&to=2026-11-30"
    rebuild.rollups_rebuild()
    before = api.get(rate).json()["results"][0]

    post_event(client, "postmark", postmark_bounce(postmark[1]["message_id"]))

    after = api.get(rate).json()["results"][0]
    # Survey emails, not questions: two delivered, one answered; then one bounced.
    assert (before["delivered"], before["answered"]) == (2, 1)
    assert (after["delivered"], after["answered"]) == (1, 1)


def test_it_drops_an_email_marked_as_spam_from_the_response_rate(postmark, client, api):
    survey()
    survey(external_id="48999", requester={"email": "bo@example.se", "name": "Bo"})
    rate = "/api/v1/metrics?metric=response_rate&from=2026-11-01&to=2026-11-30"
    rebuild.rollups_rebuild()
    before = api.get(rate).json()["results"][0]["delivered"]

    post_event(client, "postmark", postmark_complaint(postmark[1]["message_id"]))

    assert (before, api.get(rate).json()["results"][0]["delivered"]) == (2, 1)
    assert rollups_differences() == []


# --- Admin and configuration ---------------------------------------------------------


def test_it_lets_an_admin_see_and_clear_a_suppression(postmark, client, admin_client):
    survey()
    post_event(client, "postmark", postmark_bounce(postmark[0]["message_id"]))
    customer = Customer.objects.get()
    listed = admin_client.get("/admin/surveys/customer/?suppressed_at__isempty=0").content

    response = admin_client.post(
        "/admin/surveys/customer/",
        {"action": "clear_suppression", "_selected_action": [customer.pk]},
        follow=True,
    )

    customer.refresh_from_db()
    assert b"postmark: bounced on 2026-11-21" in listed
    assert "1 addresses get survey emails again" in response.content.decode()
    assert (customer.suppressed_at, customer.suppressed_reason) == (None, "")


def test_it_lists_provider_events_read_only_in_the_admin(postmark, client, admin_client):
    survey()
    post_event(client, "postmark", postmark_complaint(postmark[0]["message_id"]))
    event = EmailEvent.objects.get()

    listed = admin_client.get("/admin/integrations/emailevent/").content.decode()
    change = admin_client.post(
        f"/admin/integrations/emailevent/{event.pk}/change/", {"recipient": "x"}
    )

    assert "complained" in listed and "anna@example.se" in listed
    assert admin_client.get("/admin/integrations/emailevent/add/").status_code == 403
    assert change.status_code == 403
    assert EmailEvent.objects.get().recipient == "anna@example.se"


def run_check(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_refuses_an_unknown_email_provider():
    result = run_check(EMAIL_PROVIDER="pigeon", ANYMAIL_WEBHOOK_SECRET=SECRET)

    assert result.returncode != 0
    assert "EMAIL_PROVIDER='pigeon' is not one of amazon_ses, brevo" in result.stderr


def test_it_refuses_a_provider_without_a_webhook_secret():
    result = run_check(EMAIL_PROVIDER="postmark", ANYMAIL_WEBHOOK_SECRET="")

    assert result.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET must be set with EMAIL_PROVIDER" in result.stderr


def test_it_configures_the_provider_backend_and_keys_from_the_environment():
    code = (
        "from django.conf import settings; "
        "print(settings.EMAIL_BACKEND, sorted(settings.ANYMAIL.items()))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "EMAIL_PROVIDER": "Mailgun",
            "ANYMAIL_WEBHOOK_SECRET": SECRET,
            "MAILGUN_API_KEY": "key-1",
            "MAILGUN_WEBHOOK_SIGNING_KEY": "sign-1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.strip().splitlines()[-1] == (
        "anymail.backends.mailgun.EmailBackend [('MAILGUN_API_KEY', 'key-1'), "
        "('MAILGUN_WEBHOOK_SIGNING_KEY', 'sign-1'), ('WEBHOOK_SECRET', 'kundpuls:Ue8wq3Zr')]"
    ), result.stderr
