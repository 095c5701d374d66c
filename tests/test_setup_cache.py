"""The survey policy and question texts each process keeps (surveys.models.SetupCache):
read once, not on every customer request, and never stale for long."""

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
