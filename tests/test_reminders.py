from datetime import timedelta

import pytest

from surveys import reminders, services, tasks
from surveys.models import Invitation, Survey, SurveyPolicy
from tests.conftest import NOW, _validated, survey_token, ticket_event
from tests.test_survey_page import answer

pytestmark = pytest.mark.django_db

SENT = NOW + timedelta(hours=2)  # when sent_survey sends
DUE = SENT + timedelta(days=3, minutes=1)


@pytest.fixture
def at(time_machine):
    def move(moment):
        time_machine.move_to(moment, tick=False)

    return move


def test_reminder_goes_three_days_after_an_unanswered_survey(sent_survey, mailoutbox, at):
    sent_survey()
    at(DUE)

    assert tasks.reminders_sweep() == 1

    reminder = mailoutbox[-1]
    assert reminder.to == ["anna@example.se"]
    assert reminder.subject == "Reminder: your feedback on “Refund not received”"
    assert "This is the only reminder we will send about this request." in reminder.body
    assert set(Invitation.objects.values_list("survey__reminded_at", flat=True)) == {DUE}


def test_reminder_not_before_it_is_due(sent_survey, mailoutbox, at):
    sent_survey()
    at(SENT + timedelta(days=2, hours=23))

    assert tasks.reminders_sweep() == 0
    assert len(mailoutbox) == 1


def test_reminder_goes_once_however_often_it_runs(sent_survey, mailoutbox, at):
    sent_survey()
    at(DUE)
    invitation_id = Invitation.objects.get(kind="csat").pk

    tasks.survey_reminder_send(invitation_id)
    tasks.survey_reminder_send(invitation_id)
    tasks.reminders_sweep()

    assert len(mailoutbox) == 2


def test_no_reminder_after_an_answer(client, sent_survey, mailoutbox, at, time_machine):
    _ticket, token = sent_survey()
    answer(client, time_machine, token, {"csat": "5"})
    at(DUE)

    assert tasks.reminders_sweep() == 0
    assert reminders.survey_reminder_send(survey_id=Survey.objects.get().pk) == []
    assert len(mailoutbox) == 1


def test_no_reminder_when_the_ticket_was_reopened(sent_survey, mailoutbox, at):
    sent_survey()
    services.ticket_ingest(event=_validated(ticket_event(status="open", reopens=1)))
    at(DUE)

    tasks.reminders_sweep()

    assert len(mailoutbox) == 1


def test_no_reminder_to_an_opted_out_customer(sent_survey, mailoutbox, at):
    ticket, _token = sent_survey()
    services.customer_opt_out(customer=ticket.requester)
    at(DUE)

    assert reminders.survey_reminder_send(survey_id=Survey.objects.get().pk) == []
    assert len(mailoutbox) == 1


def test_no_reminder_past_the_throttle(sent_survey, mailoutbox, at):
    sent_survey()
    at(SENT + timedelta(days=7, minutes=1))

    assert tasks.reminders_sweep() == 0
    assert reminders.survey_reminder_send(survey_id=Survey.objects.get().pk) == []


def test_no_reminder_when_turned_off(sent_survey, mailoutbox, at):
    SurveyPolicy.objects.update_or_create(pk=1, defaults={"reminder_days": 0})
    sent_survey()
    at(DUE)

    assert tasks.reminders_sweep() == 0


def test_reminder_link_and_first_link_open_the_same_survey(client, sent_survey, mailoutbox, at):
    _ticket, token = sent_survey()
    at(DUE)
    tasks.reminders_sweep()

    reminder_token = survey_token(mailoutbox[-1])

    assert reminder_token != token
    for link in (token, reminder_token):
        page = client.get(f"/s/{link}/?csat=3")
        assert b"How satisfied were you with the support you received?" in page.content


def test_failed_reminder_is_given_back_to_the_sweep(sent_survey, settings, at):
    sent_survey()
    at(DUE)
    settings.EMAIL_BACKEND = "tests.test_sending.TemporaryFailure"

    tasks.reminders_sweep()

    assert set(Invitation.objects.values_list("survey__reminded_at", flat=True)) == {None}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.reminders_sweep() == 1
