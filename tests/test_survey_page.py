import re
from datetime import timedelta

import pytest

from followups.models import FollowUp
from surveys import answering
from surveys.models import (
    Invitation,
    QuestionText,
    Response,
    ResponseRevision,
    Survey,
    SurveyPolicy,
)
from tests.conftest import NOW

pytestmark = pytest.mark.django_db


def form_token(page) -> str:
    match = re.search(r'name="ft" value="([^"]+)"', page.content.decode())
    assert match, "no form token in the page"
    return match.group(1)


def answer(client, time_machine, token, data, *, query="", seconds=5):
    """Open the survey and send it as a person does: with the page's form token,
    some seconds after the page was served."""
    page = client.get(f"/s/{token}/{query}")
    time_machine.shift(timedelta(seconds=seconds))
    return client.post(f"/s/{token}/{query}", {**data, "ft": form_token(page)})


def test_rating_link_preselects_score_and_records_nothing(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/?csat=2")

    assert page.status_code == 200
    assert b'value="2" checked' in page.content
    assert Response.objects.count() == 0
    assert set(Invitation.objects.values_list("survey__state", flat=True)) == {"sent"}


def test_scanner_head_and_get_of_every_link_record_nothing(client, sent_survey):
    _ticket, token = sent_survey()

    for score in range(1, 6):
        client.get(f"/s/{token}/?csat={score}")
        client.head(f"/s/{token}/?csat={score}")

    assert Response.objects.count() == 0


def test_answer_is_stored_and_thanks_shown(client, sent_survey, time_machine):
    _ticket, token = sent_survey()

    posted = answer(client, time_machine, token, {"csat": "4", "ces": "6", "comment": "Kind"})

    assert posted.status_code == 302
    assert posted["Location"] == f"/s/{token}/thanks/"
    scores = dict(Response.objects.values_list("invitation__kind", "raw_score"))
    assert scores == {"csat": 4, "ces": 6}
    assert Response.objects.get(invitation__kind="csat").comment == "Kind"
    assert not Response.objects.filter(held=True).exists()
    thanks = client.get(posted["Location"])
    assert b"Thank you for your feedback" in thanks.content


def test_unanswered_optional_question_stays_open(client, sent_survey, time_machine):
    _ticket, token = sent_survey()

    answer(client, time_machine, token, {"csat": "5"})

    answered = dict(Invitation.objects.values_list("kind", "response__raw_score"))
    assert answered == {"csat": 5, "ces": None, "nps": None}
    assert Survey.objects.get().state == "answered"


def test_answer_can_change_within_seven_days_and_history_is_kept(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    answer(client, time_machine, token, {"csat": "2"})
    time_machine.move_to(NOW + timedelta(days=6), tick=False)

    answer(client, time_machine, token, {"csat": "4"})

    response = Response.objects.get(invitation__kind="csat")
    assert response.raw_score == 4
    assert list(ResponseRevision.objects.values_list("raw_score", flat=True)) == [2, 4]


def test_answer_cannot_change_after_seven_days(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    answer(client, time_machine, token, {"csat": "2"})
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
    assert b'href="#q-csat"' in page.content  # the error summary links to the question


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
    client, sent_survey, mailoutbox, time_machine, django_capture_on_commit_callbacks
):
    _ticket, token = sent_survey()

    with django_capture_on_commit_callbacks(execute=True):
        answer(client, time_machine, token, {"csat": "1", "comment": "Still no refund"})

    agent_mail = mailoutbox[-1]
    assert agent_mail.to == ["lars@support.example"]
    assert "CSAT 1 of 5" in agent_mail.subject
    assert "Still no refund" in agent_mail.body
    assert "http://testserver/followups/" in agent_mail.body


# Answers that look automated are held for review


def test_answer_without_form_token_is_held(client, sent_survey):
    _ticket, token = sent_survey()

    posted = client.post(f"/s/{token}/", {"csat": "1"})

    assert posted.status_code == 302  # the sender is told nothing
    response = Response.objects.get()
    assert (response.held, response.held_reason) == (
        True,
        "sent without the survey page's form token",
    )
    assert Response.objects.counted().count() == 0


def test_answer_sent_a_second_after_the_page_is_held(client, sent_survey, time_machine):
    _ticket, token = sent_survey()

    answer(client, time_machine, token, {"csat": "1"}, seconds=1)

    assert Response.objects.get().held_reason == "sent 1.0 s after the page was served"


def test_form_token_of_another_survey_is_refused(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    _other, other_token = sent_survey(external_id="777", requester={"email": "bo@example.se"})
    foreign = form_token(client.get(f"/s/{other_token}/"))
    time_machine.shift(timedelta(seconds=30))

    client.post(f"/s/{token}/", {"csat": "4", "ft": foreign})

    assert Response.objects.get().held is True


def test_held_low_answer_opens_its_case_at_once_and_counts_once_approved(
    client, sent_survey, mailoutbox, django_capture_on_commit_callbacks
):
    _ticket, token = sent_survey()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/s/{token}/", {"csat": "1"})  # no page served: held

    case = FollowUp.objects.get()
    assert Response.objects.counted().count() == 0
    assert case.is_held and case.reason == "CSAT 1 of 5"
    assert "Held: may be automated" in mailoutbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        released = answering.responses_release(response_ids=[Response.objects.get().pk])

    assert released == 1
    assert Response.objects.counted().count() == 1
    assert FollowUp.objects.get().pk == case.pk and not FollowUp.objects.get().is_held
    assert len([m for m in mailoutbox if "follow up" in m.subject]) == 1


def test_discarding_a_held_low_answer_closes_its_case_as_no_action(
    client, sent_survey, django_capture_on_commit_callbacks
):
    _ticket, token = sent_survey()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/s/{token}/", {"csat": "1"})

    answering.responses_discard(response_ids=[Response.objects.get().pk])

    case = FollowUp.objects.get()
    assert case.status == "no_action"
    assert list(case.events.values_list("kind", flat=True)) == ["opened", "discarded", "status"]
    assert "looked automated" in case.events.get(kind="discarded").text


def test_discarding_held_answer_reopens_the_survey(client, sent_survey):
    _ticket, token = sent_survey()
    client.post(f"/s/{token}/", {"csat": "1"})

    answering.responses_discard(response_ids=[Response.objects.get().pk])

    assert Response.objects.count() == 0
    assert Survey.objects.get().state == "sent"


def test_person_answering_again_replaces_held_answer(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    client.post(f"/s/{token}/", {"csat": "1"})

    answer(client, time_machine, token, {"csat": "4"})

    response = Response.objects.get()
    assert (response.raw_score, response.held) == (4, False)


# The page


def test_comment_box_asks_what_fits_the_clicked_score(client, sent_survey):
    _ticket, token = sent_survey()

    low = client.get(f"/s/{token}/?csat=2").content.decode()
    high = client.get(f"/s/{token}/?csat=5").content.decode()
    none = client.get(f"/s/{token}/").content.decode()

    assert "What could we have done better?" in low
    assert "What did you like most?" in high
    assert re.search(r'id="kp-comment-label">Anything you would like to add\?', none)
    assert 'value="1" data-prompt="What could we have done better?"' in none
    assert 'value="5" data-prompt="What did you like most?"' in none


def test_page_asks_at_most_three_questions_and_a_comment(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/").content.decode()

    assert page.count('<fieldset class="kp-question" id="q-') == 3
    assert page.count("data-kp-reasons-for") == 3  # what went wrong, after a low score
    assert page.count("<textarea") == 1
    assert 'src="/static/js/survey.js"' in page


def test_stars_are_numbers_with_words_for_screen_readers(client, sent_survey):
    SurveyPolicy.objects.update_or_create(pk=1, defaults={"csat_style": "stars"})
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/").content.decode()

    first = re.search(r'<label for="id_csat_0".*?</label>', page).group(0)
    assert first == (
        '<label for="id_csat_0" class="kp-option"><span class="kp-glyph" aria-hidden="true">'
        '★</span><span class="kp-num">1</span><span class="visually-hidden"> '
        "Very dissatisfied</span></label>"
    )


def test_faces_show_their_number(client, sent_survey):
    SurveyPolicy.objects.update_or_create(pk=1, defaults={"csat_style": "faces"})
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/").content.decode()

    face = '<span class="kp-glyph" aria-hidden="true">😊</span><span class="kp-num">4</span>'
    assert face in page


def test_admin_question_text_replaces_the_default(client, sent_survey):
    QuestionText.objects.create(kind="csat", language="en", text="Was {company} helpful?")
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/").content.decode()

    assert "Was Kundpuls Demo helpful?" in page
    assert "How satisfied were you" not in page


def test_thanks_links_to_company_site_and_back_to_the_survey(client, sent_survey):
    SurveyPolicy.objects.update_or_create(pk=1, defaults={"website_url": "https://shop.example/"})
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/thanks/").content.decode()

    assert '<a class="btn btn-primary kp-button" href="https://shop.example/">' in page
    assert f'href="/s/{token}/?lang=en"' in page


# The language switch


def test_language_switch_shows_the_page_in_the_chosen_language(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/?csat=4&lang=sv").content.decode()

    assert '<html lang="sv">' in page
    assert "Hur nöjd är du med supporten du fick?" in page
    assert 'value="4" checked' in page
    assert f'action="/s/{token}/?lang=sv"' in page
    assert f'href="/s/{token}/?csat=4&amp;lang=fi" lang="fi" hreflang="fi">Suomi</a>' in page


def test_unknown_language_falls_back_to_the_customer_language(client, sent_survey):
    _ticket, token = sent_survey(requester={"email": "kim@example.com", "locale": "da-DK"})

    page = client.get(f"/s/{token}/?lang=de").content.decode()

    assert '<html lang="da">' in page


def test_chosen_language_is_kept_for_the_survey(client, sent_survey, time_machine):
    _ticket, token = sent_survey()

    posted = answer(client, time_machine, token, {"csat": "4"}, query="?lang=fy")

    assert posted["Location"] == f"/s/{token}/thanks/?lang=fy"
    assert set(Invitation.objects.values_list("survey__locale", flat=True)) == {"fy"}
    assert '<html lang="fy">' in client.get(f"/s/{token}/thanks/").content.decode()


def test_language_links_are_not_counted_as_email_clicks(client, sent_survey):
    _ticket, token = sent_survey()

    client.get(f"/s/{token}/?csat=4")
    client.get(f"/s/{token}/?csat=4&lang=sv")

    invitation = Invitation.objects.get(kind="csat")
    assert invitation.survey.clicks.count() == 1
    assert invitation.survey.bot_suspect_at is None
