from datetime import timedelta

import pytest

from surveys.models import Invitation, Response, ResponseRevision
from tests.conftest import NOW

pytestmark = pytest.mark.django_db


def test_rating_link_preselects_score_and_records_nothing(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/?csat=2")

    assert page.status_code == 200
    assert b'value="2" checked' in page.content
    assert Response.objects.count() == 0
    assert set(Invitation.objects.values_list("state", flat=True)) == {"sent"}


def test_scanner_head_and_get_of_every_link_record_nothing(client, sent_survey):
    _ticket, token = sent_survey()

    for score in range(1, 6):
        client.get(f"/s/{token}/?csat={score}")
        client.head(f"/s/{token}/?csat={score}")

    assert Response.objects.count() == 0


def test_public_pages_are_private(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/")

    assert "no-store" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "no-referrer"
    assert b"anna@example.se" not in page.content


def test_answer_is_stored_and_thanks_shown(client, sent_survey):
    _ticket, token = sent_survey()

    answer = client.post(f"/s/{token}/", {"csat": "4", "ces": "6", "comment": "Quick and kind"})

    assert answer.status_code == 302
    assert answer["Location"] == f"/s/{token}/thanks/"
    scores = dict(Response.objects.values_list("invitation__kind", "raw_score"))
    assert scores == {"csat": 4, "ces": 6}
    assert Response.objects.get(invitation__kind="csat").comment == "Quick and kind"
    thanks = client.get(answer["Location"])
    assert b"Thank you for your feedback" in thanks.content


def test_unanswered_optional_question_stays_open(client, sent_survey):
    _ticket, token = sent_survey()

    client.post(f"/s/{token}/", {"csat": "5"})

    states = dict(Invitation.objects.values_list("kind", "state"))
    assert states == {"csat": "answered", "ces": "sent", "nps": "sent"}


def test_answer_can_change_within_seven_days_and_history_is_kept(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    client.post(f"/s/{token}/", {"csat": "2"})
    time_machine.move_to(NOW + timedelta(days=6), tick=False)

    client.post(f"/s/{token}/", {"csat": "4"})

    response = Response.objects.get(invitation__kind="csat")
    assert response.raw_score == 4
    assert list(ResponseRevision.objects.values_list("raw_score", flat=True)) == [2, 4]


def test_answer_cannot_change_after_seven_days(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    client.post(f"/s/{token}/", {"csat": "2"})
    time_machine.move_to(NOW + timedelta(days=8), tick=False)

    page = client.post(f"/s/{token}/", {"csat": "5"})

    assert b"You have already answered" in page.content
    assert Response.objects.get().raw_score == 2


def test_score_out_of_range_is_refused_with_message(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.post(f"/s/{token}/", {"csat": "9"})

    assert page.status_code == 400
    assert b"Please choose a score from 1 to 5." in page.content
    assert Response.objects.count() == 0


def test_missing_first_answer_is_refused_with_message(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.post(f"/s/{token}/", {"comment": "hello"})

    assert page.status_code == 400
    assert b"Please choose a score." in page.content
    assert b"hello</textarea>" in page.content


def test_100kb_comment_is_refused_and_kept_in_the_box(client, sent_survey):
    _ticket, token = sent_survey()
    comment = "x" * 100_000

    page = client.post(f"/s/{token}/", {"csat": "3", "comment": comment})

    assert page.status_code == 400
    assert b"Please keep your comment under 5,000 characters; it has 100,000." in page.content
    assert comment.encode() in page.content
    assert Response.objects.count() == 0


def test_tampered_token_gets_friendly_404(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token[:-2]}xx/?csat=5")

    assert page.status_code == 404
    assert b"We could not find this page" in page.content


def test_expired_survey_gets_410_and_records_nothing(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    time_machine.move_to(NOW + timedelta(days=31), tick=False)

    shown = client.get(f"/s/{token}/?csat=5")
    posted = client.post(f"/s/{token}/", {"csat": "5"})

    assert shown.status_code == 410
    assert posted.status_code == 410
    assert b"This survey has closed" in shown.content
    assert Response.objects.count() == 0


def test_answer_opens_followup_for_low_score(
    client, sent_survey, mailoutbox, django_capture_on_commit_callbacks
):
    _ticket, token = sent_survey()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/s/{token}/", {"csat": "1", "comment": "Still no refund"})

    agent_mail = mailoutbox[-1]
    assert agent_mail.to == ["lars@support.example"]
    assert "Satisfaction (CSAT) 1/5" in agent_mail.subject
    assert "Still no refund" in agent_mail.body
    assert "http://testserver/followups/" in agent_mail.body
