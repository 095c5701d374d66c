"""Write-back: each answer goes into its helpdesk ticket once, through each helpdesk's
documented API, with retries that never write twice."""

import base64
import json
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest

from integrations import tasks as integrations_tasks
from integrations import writeback
from integrations.models import HelpdeskConnection, WriteBack
from privacy.erasure import customer_erase
from surveys import answering
from surveys.models import Invitation, Reason
from tests.conftest import NOW, QuietHandler, loopback_server

pytestmark = pytest.mark.django_db

TOKEN = "api-token-7"
# The time sent_survey leaves the clock at: the customer answers then.
T = NOW + timedelta(hours=3)


def _basic(credentials):
    return "Basic " + base64.b64encode(credentials.encode()).decode()


# What each helpdesk's API documentation asks of a call: (method, path pattern) -> a
# check of the JSON body (a problem in words, or "" when the body is right).
def _zendesk_update(body):
    ticket = (body or {}).get("ticket") or {}
    comment = ticket.get("comment") or {}
    if comment.get("public") is not False or not comment.get("body"):
        return "an internal note needs a body and public: false"
    if not all(isinstance(t, str) for t in ticket.get("additional_tags", [None])):
        return "additional_tags must be a list of names"
    fields = ticket.get("custom_fields", [])
    if not all(isinstance(f.get("id"), int) and "value" in f for f in fields):
        return "custom_fields are [{id, value}]"
    return ""


def _freshdesk_note(body):
    ok = isinstance((body or {}).get("body"), str) and body.get("private") is True
    return "" if ok else "a private note needs body and private: true"


def _freshdesk_update(body):
    tags_ok = all(isinstance(t, str) for t in (body or {}).get("tags", [None]))
    fields_ok = isinstance(body.get("custom_fields", {}), dict) if body else False
    return "" if tags_ok and fields_ok else "tags are names, custom_fields an object"


def _hubspot_ticket(body):
    properties = (body or {}).get("properties")
    ok = isinstance(properties, dict) and all(isinstance(v, str) for v in properties.values())
    return "" if ok else "properties are strings"


def _hubspot_note(body):
    properties = (body or {}).get("properties") or {}
    if not properties.get("hs_timestamp") or not properties.get("hs_note_body"):
        return "hs_timestamp and hs_note_body are required"
    association = ((body.get("associations") or [{}])[0]).get("types") or [{}]
    expected = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}
    return "" if association[0] == expected else "the note must be associated to the ticket"


def _helpscout_note(body):
    return "" if isinstance((body or {}).get("text"), str) else "a note needs text"


def _helpscout_tags(body):
    ok = all(isinstance(t, str) for t in (body or {}).get("tags", [None]))
    return "" if ok else "tags are names"


def _intercom_reply(body):
    body = body or {}
    ok = (body.get("message_type"), body.get("type")) == ("note", "admin") and body.get("admin_id")
    return "" if ok and body.get("body") else "a note needs message_type note, type admin, admin_id"


DESKS = {
    "zendesk": {
        "auth": _basic(f"agent@support.example/token:{TOKEN}"),
        "api_user": "agent@support.example",
        "score_field": "360001",
        "ticket": "48213",
        "routes": {("PUT", r"/api/v2/tickets/48213\.json"): _zendesk_update},
        "notes": lambda m, p, b: m == "PUT",
        "updates": lambda m, p, b: m == "PUT",
    },
    "freshdesk": {
        "auth": _basic(f"{TOKEN}:X"),
        "api_user": "",
        "score_field": "cf_csat",
        "ticket": "731",
        "routes": {
            ("POST", r"/api/v2/tickets/731/notes"): _freshdesk_note,
            ("GET", r"/api/v2/tickets/731"): None,
            ("PUT", r"/api/v2/tickets/731"): _freshdesk_update,
        },
        "notes": lambda m, p, b: m == "POST",
        "updates": lambda m, p, b: m == "PUT",
        "get": {"id": 731, "tags": ["vip"]},
    },
    "hubspot": {
        "auth": f"Bearer {TOKEN}",
        "api_user": "",
        "score_field": "kundpuls_csat",
        "ticket": "9001",
        "routes": {
            ("PATCH", r"/crm/v3/objects/tickets/9001"): _hubspot_ticket,
            ("POST", r"/crm/v3/objects/notes"): _hubspot_note,
        },
        "notes": lambda m, p, b: m == "POST",
        "updates": lambda m, p, b: m == "PATCH",
    },
    "helpscout": {
        "auth": f"Bearer {TOKEN}",
        "api_user": "",
        "score_field": "",
        "ticket": "555",
        "routes": {
            ("POST", r"/v2/conversations/555/notes"): _helpscout_note,
            ("GET", r"/v2/conversations/555"): None,
            ("PUT", r"/v2/conversations/555/tags"): _helpscout_tags,
        },
        "notes": lambda m, p, b: m == "POST",
        "updates": lambda m, p, b: m == "PUT",
        "get": {"id": 555, "tags": [{"id": 1, "tag": "billing"}]},
    },
    "intercom": {
        "auth": f"Bearer {TOKEN}",
        "api_user": "814",
        "score_field": "",
        "ticket": "12345",
        "routes": {("POST", r"/conversations/12345/reply"): _intercom_reply},
        "notes": lambda m, p, b: m == "POST",
        "updates": lambda m, p, b: False,
    },
}


class HelpdeskApi(QuietHandler):
    """One helpdesk's API on loopback: checks the method, path, authentication and
    body its documentation gives, answers 503 to the first `failures` calls, or
    `forced` to every call; keeps the calls it accepted."""

    desk: dict
    accepted: list
    seen: list
    failures = 0
    forced = 0

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.seen.append((self.command, self.path, body))
        if type(self).forced:
            return self._answer(type(self).forced, {"error": "forced"})
        if self.headers.get("Authorization") != self.desk["auth"]:
            return self._answer(401, {"error": "Couldn't authenticate you"})
        if type(self).failures > 0:
            type(self).failures -= 1
            return self._answer(503, {"error": "down for maintenance"})
        for (method, pattern), check in self.desk["routes"].items():
            if method == self.command and re.fullmatch(pattern, self.path):
                problem = check(body) if check else ""
                if problem:
                    return self._answer(400, {"error": problem})
                self.accepted.append((self.command, self.path, body))
                if self.command == "GET":
                    return self._answer(200, self.desk.get("get", {}))
                return self._answer(201 if self.command == "POST" else 200, {"id": 1})
        return self._answer(404, {"error": f"no route {self.command} {self.path}"})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = _handle


@contextmanager
def desk_api(name, **connection):
    """Helpdesk `name`'s API stand-in, and a connection writing back to it."""
    HelpdeskApi.desk, HelpdeskApi.accepted, HelpdeskApi.seen = DESKS[name], [], []
    HelpdeskApi.failures, HelpdeskApi.forced = 0, 0
    with loopback_server(HelpdeskApi) as url:
        fields = {
            "provider": name,
            "secret": "s",
            "api_token": TOKEN,
            "api_user": DESKS[name]["api_user"],
            "api_base": url,
            "score_field": DESKS[name]["score_field"],
            "writeback": True,
        }
        yield HelpdeskConnection.objects.create(**(fields | connection)), HelpdeskApi


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://kundpuls.example"


@pytest.fixture(params=sorted(DESKS))
def helpdesk(request):
    with desk_api(request.param) as (connection, server):
        yield request.param, connection, server


def notes(name, calls):
    return [c for c in calls if DESKS[name]["notes"](*c)]


def updates(name, calls):
    return [c for c in calls if DESKS[name]["updates"](*c)]


def text_of(call):
    """The note's words, whatever field the helpdesk keeps them in."""
    _method, _path, body = call
    ticket = body.get("ticket", {})
    properties = body.get("properties", {})
    text = (
        ticket.get("comment", {}).get("body")
        or properties.get("hs_note_body")
        or body.get("text")
        or body.get("body")
    )
    return re.sub(r"<[^>]+>", "\n", text)


def answer(ticket, when, django_capture_on_commit_callbacks, **answers):
    comment = answers.pop("comment", "")
    codes = answers.pop("reasons", [])
    invitations = list(Invitation.objects.filter(survey__ticket=ticket))
    reasons = {
        "csat": list(
            Reason.objects.filter(kind="csat", code__in=codes).values_list("pk", flat=True)
        )
    }
    with django_capture_on_commit_callbacks(execute=True):  # the worker processes it
        answering.response_record(
            invitations=invitations, answers=answers, comment=comment, now=when, reasons=reasons
        )


def tags_written(name, calls):
    """The Kundpuls tags the last update left on the ticket."""
    _method, _path, body = updates(name, calls)[-1]
    names = body.get("ticket", {}).get("additional_tags") or body.get("tags") or []
    return sorted(t for t in names if t.startswith("kundpuls-"))


def test_writeback_an_answer_is_one_note_and_one_update(
    helpdesk, sent_survey, django_capture_on_commit_callbacks
):
    name, _connection, server = helpdesk
    ticket, _token = sent_survey(source=name, external_id=DESKS[name]["ticket"])

    answer(ticket, T, django_capture_on_commit_callbacks, csat=2, comment="Took a week")

    assert len(notes(name, server.accepted)) == 1
    assert len(updates(name, server.accepted)) == (0 if name == "intercom" else 1)
    text = text_of(notes(name, server.accepted)[0])
    assert "CSAT: 2 of 5 (low)" in text
    assert "Took a week" in text
    assert re.search(r"https://kundpuls\.example/followups/\d+/", text)
    assert WriteBack.objects.get().state == WriteBack.State.DONE


@pytest.mark.parametrize("name", ["zendesk", "freshdesk", "helpscout"])
def test_writeback_tags_the_ticket_and_keeps_the_teams_own_tags(
    name, sent_survey, django_capture_on_commit_callbacks
):
    with desk_api(name) as (_connection, server):
        ticket, _token = sent_survey(source=name, external_id=DESKS[name]["ticket"])

        answer(ticket, T, django_capture_on_commit_callbacks, csat=2)

    assert tags_written(name, server.accepted) == ["kundpuls-csat-2", "kundpuls-low"]
    _m, _p, body = updates(name, server.accepted)[-1]
    own = {"zendesk": set(), "freshdesk": {"vip"}, "helpscout": {"billing"}}[name]
    assert own <= set(body.get("tags", []))


def test_writeback_score_field_gets_the_csat_score(sent_survey, django_capture_on_commit_callbacks):
    with desk_api("zendesk"):
        ticket, _token = sent_survey()

        answer(ticket, T, django_capture_on_commit_callbacks, csat=4)

    _m, _p, body = HelpdeskApi.accepted[0]
    assert body["ticket"]["custom_fields"] == [{"id": 360001, "value": 4}]
    assert body["ticket"]["additional_tags"] == ["kundpuls-csat-4"]


def test_writeback_run_again_or_by_a_second_worker_writes_nothing_twice(
    helpdesk, sent_survey, django_capture_on_commit_callbacks
):
    name, _connection, server = helpdesk
    ticket, _token = sent_survey(source=name, external_id=DESKS[name]["ticket"])
    answer(ticket, T, django_capture_on_commit_callbacks, csat=1)
    write = WriteBack.objects.get()
    calls = len(server.accepted)

    integrations_tasks.writeback_send(write.pk)
    writeback.writeback_send(writeback_id=write.pk)
    WriteBack.objects.filter(pk=write.pk).update(state="pending")  # a second worker's claim
    integrations_tasks.writeback_send(write.pk)
    integrations_tasks.integrations_sweep()

    assert len(server.accepted) == calls
    assert len(notes(name, server.accepted)) == 1


def test_writeback_down_three_times_then_up_is_one_write(
    helpdesk, sent_survey, django_capture_on_commit_callbacks, time_machine
):
    name, _connection, server = helpdesk
    server.failures = 3
    ticket, _token = sent_survey(source=name, external_id=DESKS[name]["ticket"])

    answer(ticket, T, django_capture_on_commit_callbacks, csat=2)
    for minutes in (1, 10, 40, 120):  # the sweep, after each backoff
        time_machine.move_to(T + timedelta(minutes=minutes), tick=False)
        integrations_tasks.integrations_sweep()

    assert len(notes(name, server.accepted)) == 1
    assert len(updates(name, server.accepted)) == (0 if name == "intercom" else 1)
    write = WriteBack.objects.get()
    assert (write.state, write.attempts) == (WriteBack.State.DONE, 4)


def test_writeback_refused_token_stops_and_shows_on_the_integrations_page(
    helpdesk, sent_survey, django_capture_on_commit_callbacks, time_machine, admin_client
):
    name, _connection, server = helpdesk
    server.forced = 401
    ticket, _token = sent_survey(source=name, external_id=DESKS[name]["ticket"])
    other, _token = sent_survey(source=name, external_id="99", requester={"email": "b@x.se"})

    answer(ticket, T, django_capture_on_commit_callbacks, csat=2)
    answer(other, T, django_capture_on_commit_callbacks, csat=5)
    for minutes in (1, 10, 40, 120):
        time_machine.move_to(T + timedelta(minutes=minutes), tick=False)
        integrations_tasks.integrations_sweep()

    assert len(server.seen) == 1  # one refused call, no retry storm
    states = sorted(WriteBack.objects.values_list("state", flat=True))
    assert states == ["failed", "pending"]
    page = admin_client.get("/setup/").content.decode()
    assert "refused the API token (HTTP 401)" in page


def test_writeback_new_token_makes_the_refused_writes(
    helpdesk, sent_survey, django_capture_on_commit_callbacks, admin_client
):
    name, connection, server = helpdesk
    server.forced = 401
    ticket, _token = sent_survey(source=name, external_id=DESKS[name]["ticket"])
    answer(ticket, T, django_capture_on_commit_callbacks, csat=2)
    server.forced = 0
    form = {"writeback": "on", "api_token": TOKEN, "api_user": DESKS[name]["api_user"]}
    form |= {"api_base": connection.api_base, "score_field": DESKS[name]["score_field"]}

    with django_capture_on_commit_callbacks(execute=True):
        saved = admin_client.post(f"/setup/{name}/", form)
        integrations_tasks.integrations_sweep()

    assert saved.status_code == 302
    assert len(notes(name, server.accepted)) == 1
    assert WriteBack.objects.get().state == WriteBack.State.DONE


def test_writeback_changed_answer_updates_once_with_one_note_about_the_change(
    helpdesk, sent_survey, django_capture_on_commit_callbacks
):
    name, _connection, server = helpdesk
    ticket, _token = sent_survey(source=name, external_id=DESKS[name]["ticket"])
    answer(ticket, T, django_capture_on_commit_callbacks, csat=2)

    answer(ticket, T + timedelta(minutes=5), django_capture_on_commit_callbacks, csat=4)

    assert len(notes(name, server.accepted)) == 2
    assert len(updates(name, server.accepted)) == (0 if name == "intercom" else 2)
    change = text_of(notes(name, server.accepted)[1])
    assert "changed the answer" in change
    assert "CSAT: 2 → 4 of 5" in change
    if name == "zendesk":
        _m, _p, body = updates(name, server.accepted)[1]
        assert body["ticket"]["remove_tags"] == ["kundpuls-csat-2", "kundpuls-low"]
    if name in ("freshdesk", "helpscout"):
        assert tags_written(name, server.accepted) == ["kundpuls-csat-4"]


def test_writeback_two_questions_answered_together_are_one_note(
    sent_survey, django_capture_on_commit_callbacks
):
    with desk_api("zendesk", score_field=""):
        ticket, _token = sent_survey()

        answer(ticket, T, django_capture_on_commit_callbacks, csat=2, ces=3)

    assert len(HelpdeskApi.accepted) == 1
    text = text_of(HelpdeskApi.accepted[0])
    assert "CSAT: 2 of 5 (low)" in text
    assert "CES: 3 of 7" in text


def test_writeback_held_answer_is_not_written_until_approved(
    sent_survey, django_capture_on_commit_callbacks
):
    with desk_api("zendesk", score_field=""):
        ticket, _token = sent_survey()
        invitations = list(Invitation.objects.filter(survey__ticket=ticket, kind="csat"))
        with django_capture_on_commit_callbacks(execute=True):
            held = answering.response_record(
                invitations=invitations, answers={"csat": 1}, now=T, held_reason="too fast"
            )
        assert HelpdeskApi.accepted == []

        with django_capture_on_commit_callbacks(execute=True):
            answering.responses_release(response_ids=[held[0].pk], now=T)

    assert len(HelpdeskApi.accepted) == 1
    assert "CSAT: 1 of 5 (low)" in text_of(HelpdeskApi.accepted[0])


def test_writeback_off_or_another_helpdesk_writes_nothing(
    sent_survey, django_capture_on_commit_callbacks
):
    HelpdeskConnection.objects.create(
        provider="zendesk", secret="s", api_token=TOKEN, writeback=False
    )
    ticket, _token = sent_survey()
    api_ticket, _token = sent_survey(source="api", external_id="1", requester={"email": "c@x.se"})

    answer(ticket, T, django_capture_on_commit_callbacks, csat=1)
    answer(api_ticket, T, django_capture_on_commit_callbacks, csat=1)

    assert WriteBack.objects.count() == 0


def test_writeback_setup_page_never_shows_the_token_and_keeps_it_when_left_empty(
    admin_client,
):
    HelpdeskConnection.objects.create(provider="freshdesk", secret="s", api_token="secret-key-1")

    page = admin_client.get("/setup/freshdesk/").content.decode()
    saved = admin_client.post(
        "/setup/freshdesk/",
        {"writeback": "on", "api_token": "", "api_base": "https://acme.freshdesk.com"},
    )

    assert "secret-key-1" not in page
    assert "A token is saved" in page
    assert saved.status_code == 302
    connection = HelpdeskConnection.objects.get()
    assert (connection.api_token, connection.writeback) == ("secret-key-1", True)


def test_writeback_setup_without_a_token_is_a_400_that_says_why(admin_client):
    response = admin_client.post("/setup/zendesk/", {"writeback": "on"})

    assert response.status_code == 400
    assert "needs the helpdesk&#x27;s API token" in response.content.decode()
    assert HelpdeskConnection.objects.count() == 0


def test_writeback_erasure_forgets_what_was_written(
    sent_survey, django_capture_on_commit_callbacks
):
    with desk_api("zendesk", score_field=""):
        ticket, _token = sent_survey()
        answer(ticket, T, django_capture_on_commit_callbacks, csat=1, comment="Anna here")

    customer_erase(email="anna@example.se", now=NOW)

    assert list(WriteBack.objects.values_list("written", flat=True)) == [None]


def test_writeback_note_gives_the_reasons_and_a_change_of_them(
    sent_survey, django_capture_on_commit_callbacks
):
    with desk_api("zendesk", score_field="") as (_connection, server):
        ticket, _token = sent_survey()
        answer(ticket, T, django_capture_on_commit_callbacks, csat=2, reasons=["slow", "repeat"])
        answer(ticket, T + timedelta(minutes=2), django_capture_on_commit_callbacks, csat=2,
               reasons=["slow"])  # fmt: skip

    first, change = (text_of(call) for call in server.accepted)
    assert "Reasons: Slow answer, Had to repeat myself" in first
    assert "Reasons: Slow answer" in change
    assert "CSAT: 2 of 5 (low)" in change
