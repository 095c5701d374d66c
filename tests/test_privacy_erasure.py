"""Erasing a customer: a person who went through everything Kundpuls does (a helpdesk
webhook, a survey email, a click, an answer changed once, a follow-up case with a note
and an email, an outbound webhook, a provider event, an admin edit) is gone from a
plain-text dump of the whole database and from the logs, and every figure stays."""

import re
import subprocess
from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import call_command
from django.db import connection

from followups import services as cases
from followups.models import FollowUp
from integrations.models import EmailEvent, InboundDelivery, WebhookDelivery, WebhookSubscription
from integrations.outbound import webhook_delivery_send
from metrics.check import rollups_differences
from metrics.rebuild import rollups_rebuild
from privacy.erasure import customer_erase
from privacy.models import AuditEvent
from surveys import answering, sending, services
from surveys.models import Customer, ErasedAddress, OutboxMessage, Response, Survey, Ticket
from tests.conftest import NOW, _validated, ticket_event
from tests.factories import UserFactory
from tests.test_survey_page import answer
from tests.test_webhooks import SECRET, post_zendesk, zendesk_body

pytestmark = pytest.mark.django_db

ADDRESS = "ingrid.svensson@kund.example"
NAME = "Ingrid Svensson"
SUBJECT = "Kylskåpet levererades trasigt"
COMMENT = "Dörren på kylskåpet var buckligt och ingen ringde"
LATER = "Fortfarande inget besked om reklamationen"
NOTE = "Ringde upp, hon vill ha pengarna tillbaka senast fredag"
SECRETS = [ADDRESS, "ingrid", "svensson", "kylskåpet", "buckligt", "reklamationen", "pengarna"]


def _everything(client, time_machine, settings):
    """The person, through every path that stores something about them."""
    settings.ZENDESK_WEBHOOK_SECRET = SECRET
    settings.EMAIL_BACKEND = "surveys.outbox.OutboxBackend"
    time_machine.move_to(NOW, tick=False)
    WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/hook", events=["response.created", "followup.created"]
    )
    requester = {"email": ADDRESS, "name": NAME, "language": "Svenska"}
    assert (
        post_zendesk(client, zendesk_body(requester=requester, subject=SUBJECT)).status_code == 202
    )
    ticket = Ticket.objects.get(requester__email=ADDRESS)
    sending.survey_email_send(ticket_id=ticket.pk, now=NOW + timedelta(hours=2))
    time_machine.move_to(NOW + timedelta(hours=3), tick=False)
    token = _survey_link(ADDRESS)
    answer(client, time_machine, token, {"csat": "1", "comment": COMMENT}, query="?csat=1")
    time_machine.shift(timedelta(minutes=5))
    answer(client, time_machine, token, {"csat": "2", "comment": LATER})
    for response in Response.objects.filter(invitation__survey__ticket=ticket):
        answering.response_process(response_id=response.pk)
    case = FollowUp.objects.get(survey__ticket=ticket)
    agent = UserFactory(email="lead@support.example")
    cases.followup_note_add(followup=case, actor=agent, text=NOTE, now=NOW + timedelta(hours=4))
    draft = cases.customer_reply_draft(followup=case)
    cases.customer_reply_send(
        followup=case, actor=agent, subject=draft["subject"], body=draft["body"], now=NOW
    )
    survey = Survey.objects.get(ticket=ticket)
    EmailEvent.objects.create(
        esp_name="postmark",
        event_type="delivered",
        message_id=survey.message_id,
        recipient=ADDRESS,
        description=f"250 OK <{ADDRESS}>",
        occurred_at=NOW,
    )
    customer = Customer.objects.get(email=ADDRESS)
    LogEntry.objects.log_actions(  # what the admin writes when a customer is changed
        user_id=agent.pk, queryset=[customer], action_flag=CHANGE, change_message="Changed name."
    )
    return customer


def _survey_link(address: str) -> str:
    mail = OutboxMessage.objects.filter(to__contains=address).order_by("-pk").first()
    return re.search(r"/s/([A-Za-z0-9_-]+)/", mail.text).group(1)


def _cards(admin_client) -> list[str]:
    """The dashboard's headline cards as a reader sees them: scores, counts, changes."""
    html = admin_client.get("/reports/?from=2026-11-01&to=2026-11-30").content.decode()
    cards = re.findall(r'kp-headline" data-metric.*?</p>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", card).split()) for card in cards]


def _figures(api) -> dict:
    """Every metric, by agent and by day, over the month."""
    return {
        (metric, group): api.get(
            f"/api/v1/metrics?metric={metric}&from=2026-11-01&to=2026-11-30&group_by={group}"
        ).json()["results"]
        for metric in ("csat", "ces", "nps", "response_rate")
        for group in ("agent", "day")
    }


def _dump() -> str:
    """The whole database as text: pg_dump on PostgreSQL, iterdump on SQLite."""
    if connection.vendor == "postgresql":
        conf = connection.settings_dict
        command = [
            "pg_dump",
            "--no-owner",
            "-h",
            conf["HOST"] or "127.0.0.1",
            "-p",
            str(conf["PORT"] or 5432),
            "-U",
            conf["USER"] or "postgres",
            conf["NAME"],
        ]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return "\n".join(connection.connection.iterdump())


def _mentions(text: str) -> list[str]:
    lowered = text.lower()
    return [word for word in SECRETS if word in lowered]


@pytest.mark.django_db(transaction=True)
def test_an_erased_customer_is_in_no_table_and_no_log_and_the_figures_stay(
    client, admin_client, api, time_machine, settings, capfd, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _everything(client, time_machine, settings)
    assert _mentions(_dump()) == SECRETS  # the scenario stored every one of them
    before, cards = _figures(api), _cards(admin_client)

    call_command("erase_customer", ADDRESS)

    assert _mentions(_dump()) == []
    assert _mentions(capfd.readouterr().err) == []
    assert _figures(api) == before
    assert _cards(admin_client) == cards and len(cards) == 4, cards
    assert rollups_differences() == []  # the nightly rebuild would change nothing
    rollups_rebuild()
    assert _figures(api) == before


def test_erasing_again_or_an_unknown_address_changes_nothing(sent_survey):
    sent_survey(requester={"email": ADDRESS, "name": NAME, "locale": "sv"})
    first = customer_erase(email=ADDRESS)

    again = customer_erase(email=ADDRESS)

    assert (len(first.customer_ids), first.counts["tickets"]) == (1, 1)
    assert (again.customer_ids, sum(again.counts.values())) == ([], 0)


def test_a_new_ticket_from_an_erased_address_is_a_new_customer(sent_survey):
    ticket, _token = sent_survey(requester={"email": ADDRESS, "name": NAME, "locale": "sv"})
    customer_erase(email=ADDRESS)

    result = services.ticket_ingest(
        event=_validated(ticket_event(external_id="9", requester={"email": ADDRESS})), now=NOW
    )

    assert result.ticket.requester_id != ticket.requester_id
    assert Customer.objects.get(pk=ticket.requester_id).email.endswith("@erased.invalid")
    assert result.ticket.requester.opted_out_at is None


def test_an_address_that_had_opted_out_stays_unmailed_after_erasure(sent_survey):
    ticket, _token = sent_survey(requester={"email": ADDRESS, "name": NAME, "locale": "sv"})
    services.customer_opt_out(customer=ticket.requester)
    customer_erase(email=ADDRESS)

    result = services.ticket_ingest(
        event=_validated(ticket_event(external_id="9", requester={"email": ADDRESS})), now=NOW
    )

    assert result.ticket.requester.opted_out_at is not None
    assert ADDRESS not in str(list(ErasedAddress.objects.values_list()))
    assert Survey.objects.get(ticket=result.ticket).state == Survey.State.SUPPRESSED


def test_a_survey_email_or_webhook_queued_before_erasure_sends_nothing_after(
    sent_survey, mailoutbox
):
    ticket, _token = sent_survey(requester={"email": ADDRESS, "name": NAME, "locale": "sv"})
    scheduled = services.ticket_ingest(
        event=_validated(ticket_event(external_id="77", requester={"email": ADDRESS})), now=NOW
    ).ticket
    subscription = WebhookSubscription.objects.create(url="http://127.0.0.1:9/", events=["x"])
    pending = WebhookDelivery.objects.create(
        subscription=subscription,
        message_id="m1",
        event_type="x",
        survey=Survey.objects.get(ticket=ticket),
        body=f'{{"comment": "{COMMENT}"}}',
    )
    sent_before = len(mailoutbox)

    customer_erase(email=ADDRESS)
    sending.survey_email_send(ticket_id=scheduled.pk, now=NOW + timedelta(hours=2))
    sent = webhook_delivery_send(delivery_id=pending.pk, now=NOW + timedelta(hours=2))

    assert len(mailoutbox) == sent_before
    assert sent is None
    pending.refresh_from_db()
    assert (pending.state, pending.body) == ("failed", "")


def test_only_the_whole_address_is_erased_from_messages(sent_survey):
    sent_survey(requester={"email": "anna@kund.example", "name": "Anna", "locale": "sv"})
    InboundDelivery.objects.create(
        provider="zendesk", ticket_id="5", solved_at=NOW, body='{"email": "hanna@kund.example"}'
    )

    customer_erase(email="anna@kund.example")

    assert InboundDelivery.objects.get(ticket_id="5").body == '{"email": "hanna@kund.example"}'


def test_erasure_goes_on_the_audit_trail_without_the_address(sent_survey):
    sent_survey(requester={"email": ADDRESS, "name": NAME, "locale": "sv"})

    call_command("erase_customer", ADDRESS)

    event = AuditEvent.objects.get(action=AuditEvent.Action.ERASED)
    assert (event.via, event.customer_id) == ("command", Customer.objects.get().pk)
    assert _mentions(str(list(AuditEvent.objects.values_list()))) == []
    assert event.detail["tickets"] == 1


def test_the_address_is_redacted_from_log_lines():
    from privacy.logs import addresses_redacted

    line = "survey email for ticket 4 failed for good: (550, b'<ünï.o@kund.example> unknown')"

    assert addresses_redacted(line) == (
        "survey email for ticket 4 failed for good: (550, b'<[address]> unknown')"
    )
    assert re.search("@", addresses_redacted(f"x {ADDRESS} y")) is None
