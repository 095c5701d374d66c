"""Rating buttons inside the helpdesk's own solved email: signed links carry the
ticket's token, which Kundpuls writes into the ticket through the helpdesk's API;
unsigned links carry only the ticket id, and their answers are marked so."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest

from integrations import embedding
from integrations.models import HelpdeskConnection, TicketTokenWrite
from surveys import tasks
from surveys.models import Response, Survey
from surveys.tokens import embedded_token
from tests.conftest import NOW, QuietHandler, loopback_server
from tests.test_webhooks import SECRET, post_zendesk, zendesk_body

pytestmark = pytest.mark.django_db

API_TOKEN = "zd-api-token"


class Zendesk(QuietHandler):
    """Zendesk's API on loopback: keeps each ticket update (PUT
    /api/v2/tickets/{id}.json with the agent's API token), 404 to anything else."""

    updates: list = []

    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers.get("Authorization", "")
        ok = re.fullmatch(r"/api/v2/tickets/\d+\.json", self.path) and auth.startswith("Basic ")
        if ok:
            self.updates.append((self.path, body))
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):  # the ticket metrics: not kept here
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def zendesk(settings, time_machine):
    """A Zendesk connection whose API is on loopback, in the mode the test sets."""
    settings.ZENDESK_WEBHOOK_SECRET = SECRET
    settings.HELPDESK_WEBHOOK_TOLERANCE = 300
    time_machine.move_to(NOW, tick=False)
    Zendesk.updates = []
    with loopback_server(Zendesk) as url:
        settings.ZENDESK_API_BASE = url
        yield HelpdeskConnection.objects.create(
            provider="zendesk",
            secret=SECRET,
            api_token=API_TOKEN,
            api_user="agent@support.example",
            api_base=url,
            token_field="360002",
        )


def deliver(client, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_zendesk(client, zendesk_body(**body)).status_code == 202


def test_signed_the_token_is_written_into_a_new_ticket_once(
    client, zendesk, django_capture_on_commit_callbacks
):
    HelpdeskConnection.objects.update(embedded="signed")

    deliver(client, django_capture_on_commit_callbacks, status="Open", solved_at="")
    deliver(client, django_capture_on_commit_callbacks)  # solved: the same ticket

    token = embedded_token(source="zendesk", external_id="48213")
    assert Zendesk.updates == [
        (
            "/api/v2/tickets/48213.json",
            {"ticket": {"custom_fields": [{"id": 360002, "value": token}]}},
        )
    ]
    assert TicketTokenWrite.objects.get().state == "done"


def test_embedded_tickets_get_no_survey_email_of_kundpuls(
    client, zendesk, django_capture_on_commit_callbacks, mailoutbox, time_machine
):
    HelpdeskConnection.objects.update(embedded="unsigned")

    deliver(client, django_capture_on_commit_callbacks)
    time_machine.move_to(NOW + timedelta(hours=3), tick=False)

    tasks.invitations_sweep()

    survey = Survey.objects.get()
    assert (survey.state, survey.embedded) == ("sent", "unsigned")
    assert mailoutbox == []


def test_signed_a_snippet_link_with_the_token_records_the_answer(
    client, zendesk, django_capture_on_commit_callbacks, time_machine
):
    HelpdeskConnection.objects.update(embedded="signed")
    deliver(client, django_capture_on_commit_callbacks)
    token = embedded_token(source="zendesk", external_id="48213")

    opened = client.get(f"/e/zendesk/48213/?csat=2&t={token}")
    page = client.get(opened["Location"])
    form_token = re.search(r'name="ft" value="([^"]+)"', page.content.decode()).group(1)
    time_machine.shift(timedelta(seconds=3))
    click_url = re.search(r'data-kp-click-url="([^"]+)"', page.content.decode()).group(1)
    clicked = client.post(click_url, {"kind": "csat", "score": "2", "ft": form_token})

    assert opened.status_code == 302
    assert re.fullmatch(r"/s/[\w-]+/\?csat=2", opened["Location"])
    assert b'value="2" checked' in page.content
    assert clicked.status_code == 204
    answer = Response.objects.get()
    assert (answer.raw_score, answer.held, answer.invitation.survey.embedded) == (
        2,
        False,
        "signed",
    )


@pytest.mark.parametrize(
    "link",
    ["/e/zendesk/48213/?csat=2&t=wrong-token", "/e/zendesk/48213/?csat=2",
     "/e/zendesk/48214/?csat=2&t={token}"],
    ids=["changed token", "no token", "another ticket id"],
)  # fmt: skip
def test_signed_a_changed_link_is_refused(
    client, zendesk, django_capture_on_commit_callbacks, link
):
    HelpdeskConnection.objects.update(embedded="signed")
    deliver(client, django_capture_on_commit_callbacks)
    token = embedded_token(source="zendesk", external_id="48213")

    assert client.get(link.format(token=token)).status_code == 404


def test_unsigned_only_a_known_solved_ticket_is_rated(
    client, zendesk, django_capture_on_commit_callbacks
):
    HelpdeskConnection.objects.update(embedded="unsigned")
    deliver(client, django_capture_on_commit_callbacks)
    deliver(client, django_capture_on_commit_callbacks, id="5001", status="Open", solved_at="")

    assert client.get("/e/zendesk/48213/?csat=4").status_code == 302
    assert client.get("/e/zendesk/99999/?csat=4").status_code == 404  # unknown
    assert client.get("/e/zendesk/5001/?csat=4").status_code == 404  # not solved


def test_unsigned_guessing_ticket_ids_hits_the_rate_limit(
    client, zendesk, django_capture_on_commit_callbacks
):
    HelpdeskConnection.objects.update(embedded="unsigned")
    deliver(client, django_capture_on_commit_callbacks)

    statuses = [client.get(f"/e/zendesk/{60000 + n}/?csat=5").status_code for n in range(100)]

    assert statuses[0] == 404
    assert statuses[-1] == 429
    assert Response.objects.count() == 0


def test_unsigned_an_answer_is_marked_in_the_export_and_the_api(
    client, zendesk, django_capture_on_commit_callbacks, time_machine, api, admin_client
):
    HelpdeskConnection.objects.update(embedded="unsigned")
    deliver(client, django_capture_on_commit_callbacks)
    page = client.get(client.get("/e/zendesk/48213/?csat=2")["Location"])
    form_token = re.search(r'name="ft" value="([^"]+)"', page.content.decode()).group(1)
    time_machine.shift(timedelta(seconds=3))
    click_url = re.search(r'data-kp-click-url="([^"]+)"', page.content.decode()).group(1)

    assert (
        client.post(click_url, {"kind": "csat", "score": "2", "ft": form_token}).status_code == 204
    )
    listed = api.get("/api/v1/responses").json()
    export = admin_client.get("/reports/responses.csv?from=2026-11-01&to=2026-11-30")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))

    [item] = listed["results"]
    assert (item["raw_score"], item["embedded"]) == (2, "unsigned")
    assert [(row["raw_score"], row["embedded"]) for row in rows] == [("2", "unsigned")]


def test_the_setup_page_gives_the_snippet_with_the_helpdesks_placeholders(admin_client, zendesk):
    HelpdeskConnection.objects.update(embedded="signed")

    page = admin_client.get("/setup/zendesk/").content.decode()
    snippet = embedding.snippet(HelpdeskConnection.objects.get())

    assert (
        "/e/zendesk/{{ticket.id}}/?csat=1&amp;t={{ticket.ticket_field_360002}}" in snippet["html"]
    )
    assert "5: http" in snippet["text"]
    assert "ticket.ticket_field_360002" in page
