"""The survey policy and question texts each process keeps (surveys.models.SetupCache):
read once, not on every customer request, and never stale for long."""

import re
import time

import pytest

from surveys.models import QuestionText, SurveyPolicy

pytestmark = pytest.mark.django_db


def test_an_admins_change_shows_on_the_next_page_of_the_process_that_saved_it(client, sent_survey):
    _ticket, token = sent_survey()
    client.get(f"/s/{token}/")
    policy = SurveyPolicy.load()
    policy.company_name = "Nordvik Cykel"
    policy.save()
    QuestionText.objects.create(kind="csat", language="en", text="Was {company} any help?")

    page = client.get(f"/s/{token}/").content.decode()

    assert "Was Nordvik Cykel any help?" in page


def test_a_change_made_elsewhere_shows_within_the_cache_time(client, sent_survey, settings):
    settings.SURVEY_SETUP_CACHE_SECONDS = 0.2
    _ticket, token = sent_survey()
    client.get(f"/s/{token}/")
    # Another process saved it: no signal here.
    SurveyPolicy.objects.filter(pk=1).update(company_name="Nordvik Cykel")
    assert "Nordvik Cykel" not in client.get(f"/s/{token}/").content.decode()

    time.sleep(0.3)

    assert "Nordvik Cykel" in client.get(f"/s/{token}/").content.decode()


def test_a_caller_changing_its_policy_does_not_change_the_kept_one():
    policy = SurveyPolicy.load()
    policy.company_name = "Changed, not saved"

    assert SurveyPolicy.load().company_name != "Changed, not saved"


def test_a_kept_question_shows_the_score_each_link_chose_in_each_language(client, sent_survey):
    """Each question's markup is kept per language and chosen score (forms.question_html):
    one link's choice never shows on another's page."""
    _ticket, token = sent_survey()

    for _round in range(2):
        for score in ("2", "4", ""):
            page = client.get(f"/s/{token}/?csat={score}&lang=sv").content.decode()
            checked = re.findall(r'name="csat"[^>]*value="(\d+)" checked', page)
            assert checked == ([score] if score else [])
            assert "Hur nöjd är du med supporten" in page
    english = client.get(f"/s/{token}/?csat=4").content.decode()
    assert "How satisfied were you" in english
    assert re.findall(r'name="csat"[^>]*value="(\d+)" checked', english) == ["4"]


def test_a_question_with_errors_or_ticked_reasons_is_shown_as_it_is(client, sent_survey):
    _ticket, token = sent_survey()
    client.get(f"/s/{token}/?csat=4")  # keeps the untouched question

    refused = client.post(f"/s/{token}/", {"csat": "9"}).content.decode()

    assert refused.count('class="kp-error"') >= 1
    assert "Please choose a score from 1 to 5." in refused
    assert 'value="4" checked' not in refused
