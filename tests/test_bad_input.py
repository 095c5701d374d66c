"""Bad input is a clear 4xx and never a 500: too deeply nested JSON, NUL characters and
malformed bodies to the API, the helpdesk webhooks and the email provider's webhook,
and whatever JSON hypothesis makes up, posted with valid credentials."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import InboundDelivery
from surveys.models import Ticket
from tests.conftest import NOW, ticket_event
from tests.test_provider_events import SECRET as ANYMAIL_SECRET
from tests.test_provider_events import auth
from tests.test_webhooks import SECRET as ZENDESK_SECRET
from tests.test_webhooks import STAMP, post_zendesk, zendesk_body

pytestmark = pytest.mark.django_db

NESTED = ("[" * 100_000 + "]" * 100_000).encode()


@pytest.fixture(autouse=True)
def _hooks(settings, time_machine):
    settings.ZENDESK_WEBHOOK_SECRET = ZENDESK_SECRET
    settings.HELPDESK_WEBHOOK_TOLERANCE = 300
    settings.EMAIL_PROVIDER = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": ANYMAIL_SECRET}
    time_machine.move_to(NOW, tick=False)


def post_api(api, body: bytes):
    return api.post("/api/v1/tickets", data=body, content_type="application/json")


def test_deeply_nested_json_is_a_400_everywhere(api, client):
    assert post_api(api, NESTED).status_code == 400
    assert "nests deeper" in post_api(api, NESTED).json()["detail"]
    assert post_zendesk(client, NESTED).status_code == 400
    provider = client.post(
        "/anymail/postmark/tracking/", NESTED, content_type="application/json", **auth()
    )
    assert provider.status_code == 400


def test_a_nul_character_is_a_400_and_nothing_is_written(api, client):
    event = {**ticket_event(), "subject": "Refund\x00 not received"}
    event = json.loads(json.dumps(event, default=str))

    answer = post_api(api, json.dumps(event).encode())
    hook = post_zendesk(client, zendesk_body(id="482\x0013"))
    account = post_zendesk(client, zendesk_body(account="ac\x00me"))

    assert (answer.status_code, hook.status_code, account.status_code) == (400, 400, 400)
    assert "NUL" in hook.json()["detail"]
    assert not Ticket.objects.exists() and not InboundDelivery.objects.exists()


def test_malformed_json_to_the_email_providers_webhook_is_a_400(client):
    page = client.post(
        "/anymail/postmark/tracking/",
        b'{"RecordType": "Bounce",',
        content_type="application/json",
        **auth(),
    )

    assert page.status_code == 400
    assert "not JSON" in page.json()["detail"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
TICKET_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        name: JSON
        for name in ("source", "external_id", "status", "subject", "requester", "created_at")
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON | TICKET_FIELDS)
def test_no_json_makes_the_api_or_a_hook_answer_5xx(api, client, body):
    raw = json.dumps(body).encode()

    statuses = [
        post_api(api, raw).status_code,
        post_zendesk(client, raw, stamp=STAMP).status_code,
        client.post(
            "/anymail/postmark/tracking/", raw, content_type="application/json", **auth()
        ).status_code,
    ]

    assert all(status < 500 for status in statuses), (statuses, raw[:300])
