"""The survey as a person on a phone meets it: keyboard only, with and without
JavaScript, and every customer page checked by axe-core in every language."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from surveys import sending, services
from surveys.models import Response, Survey, SurveyPolicy
from surveys.tokens import token_hash
from tests.browser.conftest import PHONE, axe_violations
from tests.conftest import _validated, survey_token, ticket_event
from tests.factories import default_reasons

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ("en", "sv", "nb", "da", "fi", "fy")
THANKS = {
    "en": "Thank you for your feedback!",
    "sv": "Tack för din åsikt!",
}


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    settings.SURVEY_RATE_LIMIT = "10000/m"
    default_reasons()  # on the page as in production, though an earlier test flushed them


def send_survey(lang: str = "en", n: int = 0) -> tuple[str, str]:
    """A survey emailed just now; returns (survey token, unsubscribe path)."""
    now = timezone.now()
    event = ticket_event(
        external_id=f"browser-{lang}-{n}",
        requester={"email": f"kim.{lang}.{n}@example.com", "name": "Kim Laine", "locale": lang},
        created_at=(now - timedelta(days=1)).isoformat(),
        first_response_at=(now - timedelta(hours=20)).isoformat(),
        solved_at=(now - timedelta(hours=2)).isoformat(),
    )
    ticket = services.ticket_ingest(event=_validated(event), now=now).ticket
    sending.survey_email_send(ticket_id=ticket.pk, now=now)
    message = mail.outbox[-1]
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    return survey_token(message), unsubscribe.split("testserver", 1)[1]


def tab_to(page, name: str) -> None:
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def choose(page, score_steps: int) -> None:
    """Space picks the focused first point, each arrow the next one."""
    page.keyboard.press("Space")
    for _ in range(score_steps):
        page.keyboard.press("ArrowRight")


def checked(page, name: str) -> str:
    return page.evaluate(f"() => document.querySelector('input[name={name}]:checked').value")


def answer_by_keyboard(page) -> None:
    """Without JavaScript, Tab also passes each question's reasons (for a low score)."""
    tab_to(page, "csat")
    choose(page, 3)
    assert checked(page, "csat") == "4"
    tab_to(page, "ces")
    choose(page, 5)
    tab_to(page, "nps")
    choose(page, 9)
    tab_to(page, "comment")
    page.keyboard.type("Quick and kind")
    page.wait_for_timeout(2100)  # a person's pace: faster answers are held for review
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")


def assert_counted_answer() -> None:
    scores = dict(Response.objects.values_list("invitation__kind", "raw_score"))
    assert scores == {"csat": 4, "ces": 6, "nps": 9}
    assert Response.objects.counted().count() == 3
    assert Response.objects.get(invitation__kind="csat").comment == "Quick and kind"


def test_survey_answered_by_keyboard_on_a_phone(chromium, live_server, mailoutbox):
    token, _unsubscribe = send_survey()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/")
    assert page.locator("#kp-comment").is_hidden()  # until a score is chosen

    tab_to(page, "csat")
    focus_ring = page.evaluate(
        "() => getComputedStyle(document.activeElement.nextElementSibling).outlineStyle"
    )
    page.evaluate("() => { window.notReloaded = true; }")
    page.keyboard.press("Shift+Tab")
    answer_by_keyboard(page)

    page.wait_for_url(f"**/s/{token}/thanks/")
    assert focus_ring == "solid"
    assert page.locator("h1").inner_text() == "Thank you for your feedback!"
    assert page.evaluate("() => window.notReloaded") is True  # swapped in by survey.js
    assert page.evaluate("() => document.activeElement.tagName") == "H1"
    assert_counted_answer()
    context.close()


def test_comment_box_asks_what_fits_the_score(chromium, live_server, mailoutbox):
    token, _unsubscribe = send_survey()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/")

    tab_to(page, "csat")
    choose(page, 0)
    low = page.locator("#kp-comment-label").inner_text()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    high = page.locator("#kp-comment-label").inner_text()

    assert low.startswith("What could we have done better?")
    assert high.startswith("What did you like most?")
    context.close()


def test_survey_answered_by_keyboard_without_javascript(chromium, live_server, mailoutbox):
    token, _unsubscribe = send_survey()
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/")
    assert page.locator("#kp-comment").is_visible()

    answer_by_keyboard(page)

    page.wait_for_url(f"**/s/{token}/thanks/")
    assert page.locator("h1").inner_text() == "Thank you for your feedback!"
    assert_counted_answer()
    context.close()


def test_language_switch_by_keyboard(chromium, live_server, mailoutbox):
    token, _unsubscribe = send_survey("fi")
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/?csat=5")

    page.keyboard.press("Tab")  # English, the first language link
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"lang=en"))

    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("input[name=csat][value='5']").is_checked()
    assert "How satisfied were you" in page.locator("main").inner_text()
    context.close()


def customer_pages(live_server_url: str, lang: str, n: int) -> dict[str, str]:
    token, unsubscribe = send_survey(lang, n)
    expired, _unsubscribe = send_survey(lang, n + 1)
    Survey.objects.filter(links__token_hash=token_hash(expired)).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    return {
        "survey": f"{live_server_url}/s/{token}/?csat=2",
        "thanks": f"{live_server_url}/s/{token}/thanks/",
        "expired": f"{live_server_url}/s/{expired}/",
        "unsubscribe": f"{live_server_url}{unsubscribe}",
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_customer_pages_pass_axe_in_every_language(chromium, live_server, mailoutbox, lang):
    pages = customer_pages(live_server.url, lang, n=LANGUAGES.index(lang) * 10)
    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    found = {}
    # First, before the rating link: a second on its page answers by the click.
    page.goto(pages["survey"].replace("?csat=2", ""))
    page.locator("button[type=submit]").click()  # nothing chosen: the error state
    page.locator("#form-errors").wait_for()
    found["survey with errors"] = axe_violations(page)

    for name, url in pages.items():
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == lang, name
        found[name] = axe_violations(page)
    page.goto(pages["unsubscribe"])
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    found["unsubscribed"] = axe_violations(page)

    assert found == {name: [] for name in found}
    context.close()


@pytest.mark.parametrize("style", ["stars", "faces"])
def test_star_and_face_scales_pass_axe(chromium, live_server, mailoutbox, style):
    SurveyPolicy.objects.update_or_create(pk=1, defaults={"csat_style": style})
    token, _unsubscribe = send_survey("en", n=100)
    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()

    page.goto(f"{live_server.url}/s/{token}/?csat=3")

    assert axe_violations(page) == []
    context.close()
