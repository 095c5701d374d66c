"""Customers with an internationalised address (RFC 6531: a non-ASCII local part, as
in ünï@kund.example) are accepted by the API and mailed with SMTPUTF8 by a server that
offers it; a server that does not gives a clear reason on the survey."""

import pytest
from django.core import mail

from surveys.mail import NoSMTPUTF8Error
from surveys.models import Customer
from tests.conftest import ticket_event
from tests.smtp_sink import smtp_sink

pytestmark = pytest.mark.django_db

ADDRESS = "ünï@kund.example"


def _smtp(port):
    return mail.get_connection("surveys.mail.SMTPBackend", host="127.0.0.1", port=port, timeout=5)


def test_the_api_accepts_an_international_address(api):
    answer = api.post("/api/v1/tickets", ticket_event(requester={"email": ADDRESS}), format="json")
    refused = api.post(
        "/api/v1/tickets",
        ticket_event(external_id="2", requester={"email": "ünï at kund.example"}),
        format="json",
    )

    assert answer.status_code == 201, answer.content
    assert Customer.objects.get().email == ADDRESS
    assert refused.status_code == 400
    assert "email" in refused.json()["requester"]


def test_a_server_with_smtputf8_receives_the_address_as_it_is():
    with smtp_sink() as (mailbox, port):
        sent = mail.EmailMessage(
            "Hej", "Text", "kundpuls@support.example", [ADDRESS], connection=_smtp(port)
        ).send()
        [received] = mailbox.wait_for(ADDRESS, timeout=10)

    assert sent == 1
    assert received.rcpt_tos == [ADDRESS]
    assert received.header("To") == ADDRESS


def test_a_server_without_smtputf8_is_a_clear_failure():
    with smtp_sink(smtputf8=False) as (mailbox, port):
        message = mail.EmailMessage(
            "Hej", "Text", "kundpuls@support.example", [ADDRESS], connection=_smtp(port)
        )
        with pytest.raises(NoSMTPUTF8Error, match="does not offer SMTPUTF8"):
            message.send()

    assert mailbox.messages == []


def test_ascii_addresses_go_as_before():
    with smtp_sink(smtputf8=False) as (mailbox, port):
        mail.EmailMessage(
            "Hej", "Text", "kundpuls@support.example", ["anna@example.se"], connection=_smtp(port)
        ).send()
        [received] = mailbox.wait_for("anna@example.se", timeout=10)

    assert received.subject == "Hej"


def test_a_survey_the_server_cannot_take_says_why(settings, time_machine):
    from datetime import timedelta

    from surveys import sending, services
    from tests.conftest import NOW, _validated

    time_machine.move_to(NOW, tick=False)
    event = _validated(ticket_event(requester={"email": ADDRESS}))
    ticket = services.ticket_ingest(event=event, now=NOW).ticket
    with smtp_sink(smtputf8=False) as (mailbox, port):
        settings.EMAIL_BACKEND = "surveys.mail.SMTPBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        sending.survey_email_send(ticket_id=ticket.pk, now=NOW + timedelta(hours=2))

    survey = ticket.surveys.get()
    assert (survey.state, mailbox.messages) == ("scheduled", [])  # tried again later
    assert "does not offer SMTPUTF8" in survey.reason
