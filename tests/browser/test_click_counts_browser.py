"""The click in the email counts, in headless Chromium: a person's browser that opens
a rating link and does nothing else has answered after about a second, once; a page
closed at once, or a browser without JavaScript, records nothing until the button."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.models import Response, ResponseRevision, Survey
from tests.browser.conftest import PHONE
from tests.browser.test_survey_browser import send_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    settings.SURVEY_RATE_LIMIT = "10000/m"


def emailed(lang: str) -> str:
    """A survey emailed a few minutes ago (a fetch within seconds of sending is a
    scanner's, by the bot rules): its token."""
    token, _unsubscribe = send_survey(lang)
    Survey.objects.update(sent_at=timezone.now() - timedelta(minutes=5))
    return token


def wait_for_answers(count: int, seconds: float = 5.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if Response.objects.count() >= count:
            break
        time.sleep(0.1)
    return Response.objects.count()


def test_opening_a_rating_link_and_doing_nothing_else_answers_once(
    chromium, live_server, mailoutbox
):
    token = emailed("fi")
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    with page.expect_response(lambda r: r.url.endswith("/click/")) as sent:
        page.goto(f"{live_server.url}/s/{token}/?csat=2")
    time.sleep(1.0)  # longer than the page waits; no second send
    context.close()
    second = chromium.new_context(viewport=PHONE)
    again = second.new_page()
    again.goto(f"{live_server.url}/s/{token}/?csat=5")
    again.wait_for_timeout(2000)
    second.close()

    assert sent.value.status == 204
    assert wait_for_answers(1) == 1
    response = Response.objects.get()
    assert (response.raw_score, response.held) == (2, False)
    assert ResponseRevision.objects.count() == 1
    assert Survey.objects.get().completed_at is None


def test_a_page_closed_at_once_records_nothing(chromium, live_server, mailoutbox):
    token = emailed("sv")
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()

    page.goto(f"{live_server.url}/s/{token}/?csat=1")
    page.wait_for_timeout(200)
    context.close()
    time.sleep(1.5)

    assert Response.objects.count() == 0


def test_without_javascript_only_the_button_records(chromium, live_server, mailoutbox):
    token = emailed("en")
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/s/{token}/?csat=4")
    page.wait_for_timeout(2500)
    before = Response.objects.count()
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"{live_server.url}/s/{token}/thanks/")
    context.close()

    assert before == 0
    assert Response.objects.get().raw_score == 4
    assert Survey.objects.get().completed_at is not None
