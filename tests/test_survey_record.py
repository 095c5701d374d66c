"""The survey as a record of its own: one email, one link, its questions and answers."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followups.models import FollowUp
from surveys import answering, sending
from surveys import tasks as surveys_tasks
from surveys.models import Invitation, Response, ResponseRevision, Survey, SurveyLink
from tests.conftest import NOW, survey_token, ticket_event

pytestmark = pytest.mark.django_db


def test_a_link_finds_its_survey_with_one_query_on_one_indexed_column(sent_survey):
    _ticket, token = sent_survey()

    with CaptureQueriesContext(connection) as queries:
        survey = answering.survey_for_token(token)

    assert survey is not None and survey.ticket.external_id == "48213"
    [query] = queries.captured_queries
    assert '"surveys_surveylink"."token_hash" =' in query["sql"]
    assert " OR " not in query["sql"]
    assert SurveyLink._meta.get_field("token_hash").unique


def test_one_email_is_one_survey_with_its_questions(sent_survey, mailoutbox):
    ticket, token = sent_survey()

    survey = Survey.objects.get()
    assert (survey.ticket, survey.state, len(mailoutbox)) == (ticket, "sent", 1)
    assert [q.kind for q in survey.questions] == ["csat", "ces", "nps"]
    assert survey.links.get().purpose == "survey"
    assert answering.survey_for_token(token) == survey


def test_a_send_tried_again_after_a_crash_carries_the_same_link(
    sent_survey, mailoutbox, client, time_machine
):
    """The worker died after the mail server accepted the email and before the send
    was stored: the sweep sends it again, and both emails' links open the survey."""
    _ticket, first_token = sent_survey()
    Survey.objects.update(state="sending", claimed_at=NOW)
    time_machine.move_to(NOW + timedelta(hours=3), tick=False)

    surveys_tasks.invitations_sweep()

    assert len(mailoutbox) == 2
    assert survey_token(mailoutbox[1]) == first_token
    assert Survey.objects.get().links.count() == 1
    assert client.get(f"/s/{first_token}/?csat=4").status_code == 200


def test_the_reminder_has_a_link_of_its_own_that_opens_the_same_survey(
    sent_survey, mailoutbox, client, time_machine
):
    _ticket, token = sent_survey()
    survey = Survey.objects.get()
    time_machine.move_to(survey.sent_at + timedelta(days=3, minutes=1), tick=False)

    surveys_tasks.reminders_sweep()

    reminder = survey_token(mailoutbox[-1])
    assert len(mailoutbox) == 2 and reminder != token
    assert set(survey.links.values_list("purpose", flat=True)) == {"survey", "reminder"}
    assert client.get(f"/s/{reminder}/?csat=5").status_code == 200
    assert answering.survey_for_token(reminder) == survey


def test_the_responses_api_names_the_survey_of_each_answer(sent_survey, api):
    _ticket, _token = sent_survey()
    survey = Survey.objects.get()
    invitations = list(Invitation.objects.filter(survey=survey))
    answering.response_record(
        invitations=invitations, answers={"csat": 5, "ces": 6}, now=NOW + timedelta(hours=3)
    )

    body = api.get("/api/v1/responses?ticket=48213").json()

    assert sorted((r["kind"], r["survey"]) for r in body["results"]) == [
        ("ces", survey.pk),
        ("csat", survey.pk),
    ]


def test_the_ticket_api_shows_the_survey_and_its_questions(api, settings, time_machine):
    settings.SURVEY_SEND_DELAY = 3600
    time_machine.move_to(NOW, tick=False)

    body = api.post("/api/v1/tickets", ticket_event(), format="json").json()

    survey = Survey.objects.get()
    assert body["survey"]["id"] == survey.pk
    assert body["survey"]["state"] == "scheduled"
    assert sorted(i["kind"] for i in body["invitations"]) == ["ces", "csat", "nps"]


def test_the_case_page_lists_the_surveys_answers_and_no_earlier_case_of_it(sent_survey, client):
    _ticket, _token = sent_survey()
    invitations = list(Invitation.objects.filter(survey=Survey.objects.get()))
    for response in answering.response_record(
        invitations=invitations, answers={"csat": 1, "ces": 1}, now=NOW + timedelta(hours=3)
    ):
        surveys_tasks.response_process(response.pk)
    [case] = FollowUp.objects.all()
    client.force_login(case.owner)

    page = client.get(f"/followups/{case.pk}/")

    assert page.status_code == 200
    assert page.context["earlier_cases"] == []
    assert [a.invitation.kind for a in page.context["answers"]] == ["csat", "ces"]


def test_expiry_and_answers_are_states_of_the_email(sent_survey, time_machine):
    _ticket, _token = sent_survey()
    survey = Survey.objects.get()

    expired = sending.invitations_expire(now=survey.expires_at + timedelta(seconds=1))

    assert expired == 1
    assert Survey.objects.get().state == "expired"


def test_the_same_task_delivered_again_after_its_worker_died_sends_the_identical_email(
    settings, mailoutbox, time_machine
):
    """The worker died after the mail server took the email and before the send was
    stored: the broker gives the task back, it recognises its own claim and sends the
    same email again at once; another task finds the survey claimed and sends nothing."""
    from surveys import services
    from tests.conftest import _validated

    settings.SURVEY_SEND_DELAY = 3600
    time_machine.move_to(NOW, tick=False)
    ticket = services.ticket_ingest(event=_validated(ticket_event()), now=NOW).ticket
    later = NOW + timedelta(hours=2)
    sending.survey_email_send(ticket_id=ticket.pk, now=later, claim="task-1")
    Survey.objects.update(state="sending", claimed_at=later, claim="task-1")  # the lost commit

    other = sending.survey_email_send(ticket_id=ticket.pk, now=later, claim="task-2")
    again = sending.survey_email_send(ticket_id=ticket.pk, now=later, claim="task-1")

    assert (other, len(again), len(mailoutbox)) == ([], 3, 2)
    first, second = mailoutbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert survey_token(first) == survey_token(second)
    assert first.body == second.body  # the unsubscribe link too
    assert Survey.objects.get().state == "sent"


def test_an_answer_is_stored_where_the_database_cannot_return_rows(sent_survey, monkeypatch):
    """SQLite before 3.35 has no RETURNING: the answers are read back by their question."""
    _ticket, token = sent_survey()
    _survey, questions = answering.survey_questions_for_token(token)
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)

    saved = answering.response_record(invitations=questions, answers={"csat": 2, "ces": 3})

    stored = {r.pk: r.raw_score for r in Response.objects.all()}
    assert stored == {r.pk: r.raw_score for r in saved} and sorted(stored.values()) == [2, 3]
    assert ResponseRevision.objects.count() == 2
