import smtplib
from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend

from surveys import sending, services, tasks
from surveys.models import Invitation, Survey
from tests.conftest import NOW, survey_token
from tests.smtp_sink import smtp_sink

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(hours=2)


@pytest.fixture
def solved(time_machine):
    from tests.conftest import _validated, ticket_event

    time_machine.move_to(NOW, tick=False)

    def make(**overrides):
        event = _validated(ticket_event(**overrides))
        return services.ticket_ingest(event=event, now=NOW).ticket

    return make


def test_survey_email_goes_to_requester_with_one_click_links(solved, mailoutbox):
    ticket = solved(requester={"email": "anna@example.se", "name": "Anna Berg", "locale": "en"})

    sent = sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    assert len(sent) == 3
    [message] = mailoutbox
    assert message.to == ["anna@example.se"]
    assert "Refund not received" in message.subject
    token = survey_token(message)
    for score in range(1, 6):
        assert f"/s/{token}/?csat={score}" in message.body
        assert f"/s/{token}/?csat={score}" in message.alternatives[0].content
    assert message.alternatives[0].mimetype == "text/html"


def test_survey_email_has_one_click_unsubscribe_headers(solved, mailoutbox):
    ticket = solved()

    sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    headers = mailoutbox[0].extra_headers
    assert headers["List-Unsubscribe"].startswith("<http://testserver/u/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_survey_email_marks_invitations_sent_with_expiry(solved):
    ticket = solved()

    sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    states = set(
        Invitation.objects.values_list("survey__state", "survey__sent_at", "survey__expires_at")
    )
    assert states == {("sent", LATER, LATER + timedelta(days=30))}


def test_survey_email_send_twice_sends_once(solved, mailoutbox):
    ticket = solved()

    sending.survey_email_send(ticket_id=ticket.pk, now=LATER)
    again = sending.survey_email_send(ticket_id=ticket.pk, now=LATER + timedelta(minutes=1))

    assert again == []
    assert len(mailoutbox) == 1


def test_survey_email_not_sent_before_send_after(solved, mailoutbox, settings):
    settings.SURVEY_SEND_DELAY = 3600
    ticket = solved(solved_at=NOW.isoformat())

    sent = sending.survey_email_send(ticket_id=ticket.pk, now=NOW + timedelta(minutes=59))

    assert sent == []
    assert mailoutbox == []


def test_second_ticket_within_seven_days_is_throttled(solved, mailoutbox):
    sending.survey_email_send(ticket_id=solved().pk, now=LATER)
    second = solved(external_id="48214")

    sending.survey_email_send(ticket_id=second.pk, now=LATER + timedelta(days=1))

    assert len(mailoutbox) == 1
    reasons = set(second.surveys.values_list("state", "reason"))
    assert reasons == {("suppressed", "customer had a survey email in the last 7 days")}


def test_customer_opted_out_after_scheduling_gets_nothing(solved, mailoutbox):
    ticket = solved()
    services.customer_opt_out(customer=ticket.requester)

    sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    assert mailoutbox == []
    assert set(ticket.surveys.values_list("state", flat=True)) == {"suppressed"}


class TemporaryFailure(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPResponseException(451, b"try again later")


class PermanentFailure(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"anna@example.se": (550, b"no such user")})


def test_temporary_smtp_error_retries_with_backoff(solved, settings):
    settings.EMAIL_BACKEND = "tests.test_sending.TemporaryFailure"
    ticket = solved()

    sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    invitation = Invitation.objects.filter(survey__ticket=ticket).get(kind="csat")
    assert (invitation.survey.state, invitation.survey.attempts) == ("scheduled", 1)
    # A minute later, give or take a fifth, so a failed batch does not retry at once.
    retry = invitation.survey.send_after - LATER
    assert timedelta(seconds=48) <= retry <= timedelta(seconds=72)


def test_retries_of_a_failed_batch_are_spread(solved, settings):
    settings.EMAIL_BACKEND = "tests.test_sending.TemporaryFailure"
    for n in range(20):
        ticket = solved(external_id=f"5{n:03d}", requester={"email": f"k{n}@example.se"})
        sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    retries = set(Survey.objects.values_list("send_after", flat=True))

    assert len(retries) == 20


def test_permanent_smtp_error_marks_failed(solved, settings):
    settings.EMAIL_BACKEND = "tests.test_sending.PermanentFailure"
    ticket = solved()

    sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    invitation = Invitation.objects.filter(survey__ticket=ticket).get(kind="csat")
    assert invitation.survey.state == "failed"
    assert "no such user" in invitation.survey.reason
    # Like a provider's hard bounce: the address gets no survey email again.
    customer = invitation.survey.customer
    customer.refresh_from_db()
    assert customer.suppressed_at is not None
    assert "refused by the mail server" in customer.suppressed_reason
    later = solved(external_id="48999")
    assert later.surveys.get().state == "suppressed"


def test_temporary_errors_give_up_after_five_tries(solved, settings):
    settings.EMAIL_BACKEND = "tests.test_sending.TemporaryFailure"
    ticket = solved()
    when = LATER
    for _ in range(5):
        sending.survey_email_send(ticket_id=ticket.pk, now=when)
        when += timedelta(days=1)

    invitation = Invitation.objects.filter(survey__ticket=ticket).get(kind="csat")
    assert (invitation.survey.state, invitation.survey.attempts) == ("failed", 5)


def test_sweep_rescues_send_stuck_by_dead_worker(solved, mailoutbox, time_machine):
    ticket = solved()
    ticket.surveys.update(state="sending", claimed_at=NOW)
    time_machine.move_to(NOW + timedelta(minutes=16), tick=False)

    tasks.invitations_sweep()

    assert len(mailoutbox) == 1
    assert set(ticket.surveys.values_list("state", flat=True)) == {"sent"}


def test_sweep_sends_due_and_leaves_the_rest(solved, mailoutbox, time_machine, settings):
    settings.SURVEY_SEND_DELAY = 3600
    due = solved(solved_at=NOW.isoformat())
    later = solved(
        external_id="48214",
        requester={"email": "bo@example.se"},
        solved_at=(NOW + timedelta(hours=2)).isoformat(),
    )
    time_machine.move_to(NOW + timedelta(hours=1, seconds=1), tick=False)

    assert tasks.invitations_sweep() == 1
    assert tasks.invitations_sweep() == 0

    assert [m.to for m in mailoutbox] == [["anna@example.se"]]
    assert set(later.surveys.values_list("state", flat=True)) == {"scheduled"}
    assert set(due.surveys.values_list("state", flat=True)) == {"sent"}


def test_invitations_expire_after_thirty_days(solved):
    ticket = solved()
    sending.survey_email_send(ticket_id=ticket.pk, now=LATER)

    expired = sending.invitations_expire(now=LATER + timedelta(days=30, seconds=1))

    assert expired == 1  # one survey email, its three questions


def _customers(solved, count):
    return [
        solved(external_id=f"70{n}", requester={"email": f"k{n}@example.se", "name": "Kim"})
        for n in range(count)
    ]


def test_a_batch_goes_over_one_connection_and_a_fresh_one_after_a_failure(
    solved, settings, time_machine
):
    tickets = _customers(solved, 5)
    time_machine.move_to(LATER, tick=False)
    with smtp_sink() as (mailbox, port):
        settings.EMAIL_BACKEND = "surveys.mail.SMTPBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        mailbox.closing.add("k2@example.se")

        sent = sending.survey_emails_send(ticket_ids=[t.pk for t in tickets], claim="batch")

    assert sent == 4
    received = sorted(address for m in mailbox.messages for address in m.rcpt_tos)
    assert received == ["k0@example.se", "k1@example.se", "k3@example.se", "k4@example.se"]
    assert len(mailbox.peers) == 2  # one connection before the 421, one after
    failed = Survey.objects.get(ticket=tickets[2])
    assert (failed.state, failed.attempts) == ("scheduled", 1)
    assert "421" in failed.reason


def test_a_batch_task_run_twice_sends_each_email_once(solved, mailoutbox, time_machine):
    tickets = _customers(solved, 3)
    time_machine.move_to(LATER, tick=False)

    first = tasks.survey_emails_send([t.pk for t in tickets])
    second = tasks.survey_emails_send([t.pk for t in tickets])

    assert (first, second) == (3, 0)
    assert sorted(m.to[0] for m in mailoutbox) == [
        "k0@example.se",
        "k1@example.se",
        "k2@example.se",
    ]


def test_the_sweep_queues_due_surveys_in_batches(solved, mailoutbox, time_machine):
    tickets = _customers(solved, tasks.SEND_BATCH + 1)
    time_machine.move_to(LATER, tick=False)

    queued = tasks.invitations_sweep()

    assert queued == len(tickets)
    assert len(mailoutbox) == len(tickets)
    assert set(Survey.objects.values_list("state", flat=True)) == {"sent"}
