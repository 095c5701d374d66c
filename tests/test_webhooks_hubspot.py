import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from integrations import helpdesks
from integrations.models import InboundDelivery
from surveys.models import Invitation, Ticket
from tests.conftest import NOW, QuietHandler, loopback_server

pytestmark = pytest.mark.django_db

SECRET = "hs-client-secret"
URL = "/hooks/hubspot/"
CRM = {
    "/crm/v3/objects/tickets/991": {
        "id": "991",
        "properties": {
            "subject": "Invoice twice",
            "hs_pipeline_stage": "4",
            "createdate": "2026-11-20T08:00:00Z",
            "hubspot_owner_id": "55",
            "hs_ticket_category": "BILLING_ISSUE",
            "source_type": "EMAIL",
            "first_agent_reply_date": "2026-11-20T09:30:00Z",
        },
        "associations": {"contacts": {"results": [{"id": "301", "type": "ticket_to_contact"}]}},
    },
    "/crm/v3/objects/contacts/301": {
        "id": "301",
        "properties": {
            "email": "eva@example.se",
            "firstname": "Eva",
            "lastname": "Lund",
            "hs_language": "sv",
        },
    },
    "/crm/v3/owners/55": {"id": "55", "email": "nils@support.example", "firstName": "Nils"},
}


class Crm(QuietHandler):
    """A stand-in for api.hubapi.com that also checks the access token."""

    def do_GET(self):
        found = CRM.get(urlsplit(self.path).path)
        if self.headers["Authorization"] != "Bearer pat-test" or found is None:
            self.send_response(401 if found else 404)
            self.end_headers()
            return
        body = json.dumps(found).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(autouse=True)
def _hubspot(settings, time_machine):
    settings.HUBSPOT_CLIENT_SECRET = SECRET
    settings.HUBSPOT_ACCESS_TOKEN = "pat-test"
    settings.SITE_URL = "https://kundpuls.example.com"
    time_machine.move_to(NOW, tick=False)
    with loopback_server(Crm) as url:
        settings.HUBSPOT_API_BASE = url
        yield


def batch(*object_ids, stage="4"):
    occurred = int(NOW.timestamp() * 1000) - 2000
    return json.dumps(
        [
            {
                "eventId": 100 + n,
                "portalId": 62515,
                "occurredAt": occurred,
                "subscriptionType": "ticket.propertyChange",
                "objectId": object_id,
                "propertyName": "hs_pipeline_stage",
                "propertyValue": stage,
            }
            for n, object_id in enumerate(object_ids)
        ]
    ).encode()


def post(client, body, *, secret=SECRET, millis=None, signed_body=None):
    timestamp = str(millis if millis is not None else int(NOW.timestamp() * 1000))
    signature = helpdesks.hubspot_signature(
        secret=secret,
        method="POST",
        uri="https://kundpuls.example.com" + URL,
        body=signed_body or body,
        timestamp=timestamp,
    )
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_hubspot_signature_matches_known_vector():
    # From: printf '%s' "POST$URI$BODY$TS" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
    signature = helpdesks.hubspot_signature(
        secret=SECRET,
        method="POST",
        uri="https://kundpuls.example.com/hooks/hubspot/",
        body=b'[{"objectId": 1}]',
        timestamp="1700000000000",
    )

    assert signature == "H4DyRVBodE+TZchMpi0cT1bGsDKjivlzZvob586NCUg="


def test_hubspot_post_closed_ticket_is_enriched_and_ingested(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, batch(991))

    ticket = Ticket.objects.get()
    assert response.json() == {"received": 1, "duplicates": 0}
    assert (ticket.source, ticket.external_id, ticket.status) == ("hubspot", "991", "solved")
    assert (ticket.subject, ticket.channel, ticket.category) == (
        "Invoice twice",
        "email",
        "billing_issue",
    )
    assert (ticket.requester.email, ticket.requester.name, ticket.requester.locale) == (
        "eva@example.se",
        "Eva Lund",
        "sv",
    )
    assert ticket.assignee.email == "nils@support.example"
    assert Invitation.objects.filter(survey__ticket=ticket).count() == 3


def test_hubspot_first_agent_reply_fills_the_first_response(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, batch(991))

    ticket = Ticket.objects.get()
    assert (ticket.first_response_at - ticket.created_at) == timedelta(minutes=90)


def test_hubspot_post_duplicate_batch_is_not_reprocessed(client):
    post(client, batch(991))

    again = post(client, batch(991))

    assert again.status_code == 200
    assert again.json() == {"received": 0, "duplicates": 1}
    assert InboundDelivery.objects.count() == 1


def test_hubspot_post_tampered_body_is_401(client):
    response = post(client, batch(992), signed_body=batch(991))

    assert response.status_code == 401
    assert InboundDelivery.objects.count() == 0


def test_hubspot_post_wrong_secret_is_401(client):
    assert post(client, batch(991), secret="other").status_code == 401


def test_hubspot_post_old_timestamp_is_401(client):
    old = int((NOW - timedelta(minutes=6)).timestamp() * 1000)

    response = post(client, batch(991), millis=old)

    assert response.status_code == 401
    assert response.json() == {"detail": "Timestamp outside the replay window."}


def test_hubspot_ticket_gone_from_crm_keeps_the_error(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, batch(404))

    delivery = InboundDelivery.objects.get()
    assert delivery.processed_at == NOW
    assert delivery.error.startswith("HubSpot has no /crm/v3/objects/tickets/404")
    assert Ticket.objects.count() == 0


def test_hubspot_setup_page_shows_target_url(admin_client):
    html = admin_client.get("/setup/hubspot/").content.decode()

    assert "https://kundpuls.example.com/hooks/hubspot/" in html
    assert SECRET in html
