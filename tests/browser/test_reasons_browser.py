"""Reasons after a low score as a Finnish customer on a phone meets them: by keyboard
only with JavaScript, and without JavaScript, where every question's reasons show."""

import pytest

from surveys.models import Response
from tests.browser.conftest import PHONE, axe_violations
from tests.browser.test_survey_browser import send_survey
from tests.factories import default_reasons

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINNISH_LEGEND = "Mikä meni vikaan?"


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.SURVEY_RATE_LIMIT = "10000/m"
    default_reasons()


def tab_until(page, test: str, limit: int = 60) -> None:
    """Press Tab until the focused element passes `test` (a JavaScript expression on
    `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return {test}; }}"):
            return
    raise AssertionError(f"Tab never reached {test}")


def choose_csat_2_and_two_reasons(page) -> None:
    """Space picks CSAT 1, the arrow 2; then the first and third reasons by Space."""
    tab_until(page, "el.name === 'csat'")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == "csat_reasons"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")


def send_by_keyboard(page) -> None:
    tab_until(page, "el.type === 'submit'")
    page.wait_for_timeout(2100)  # a person's pace: faster answers are held for review
    page.keyboard.press("Enter")


def stored_reasons() -> tuple[int, list[str]]:
    response = Response.objects.get(kind="csat")
    return response.raw_score, [reason.code for reason in response.reasons.all()]


def test_reasons_chosen_by_keyboard_after_csat_2_in_finnish(chromium, live_server, mailoutbox):
    token, _unsubscribe = send_survey("fi", n=200)
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/")
    reasons = page.locator("#q-csat_reasons")
    hidden_before = reasons.is_hidden()

    choose_csat_2_and_two_reasons(page)
    shown = reasons.is_visible()
    legend = reasons.locator("legend").inner_text()
    send_by_keyboard(page)

    page.wait_for_url(f"**/s/{token}/thanks/")
    assert (hidden_before, shown) == (True, True)
    assert legend.startswith(FINNISH_LEGEND)
    assert page.locator("#q-ces_reasons").count() == 0  # the thank-you page
    assert stored_reasons() == (2, ["slow", "manner"])
    context.close()


def test_reasons_hide_again_when_a_good_score_is_chosen(chromium, live_server, mailoutbox):
    token, _unsubscribe = send_survey("fi", n=210)
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/")

    page.locator("label[for=id_csat_1]").click()
    page.locator("label[for=id_csat_reasons_0]").click()
    page.locator("label[for=id_csat_4]").click()
    send_by_keyboard(page)

    page.wait_for_url(f"**/s/{token}/thanks/")
    assert stored_reasons() == (5, [])
    context.close()


def test_reasons_chosen_without_javascript_after_csat_2_in_finnish(
    chromium, live_server, mailoutbox
):
    token, _unsubscribe = send_survey("fi", n=220)
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/")
    reasons = page.locator("#q-csat_reasons")
    legend = reasons.locator("legend").inner_text()
    labels = reasons.locator("label").all_inner_texts()

    choose_csat_2_and_two_reasons(page)
    send_by_keyboard(page)

    page.wait_for_url(f"**/s/{token}/thanks/")
    assert legend.startswith(f"Jos valitsit 1 tai 2: {FINNISH_LEGEND}")
    assert labels[:3] == ["Hidas vastaus", "Ongelma ei ratkennut", "Tukihenkilön käytös"]
    assert stored_reasons() == (2, ["slow", "manner"])
    context.close()


def test_survey_with_reasons_shown_passes_axe(chromium, live_server, mailoutbox):
    token, _unsubscribe = send_survey("fi", n=230)
    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()

    page.goto(f"{live_server.url}/s/{token}/?csat=2")

    assert page.locator("#q-csat_reasons").is_visible()
    assert axe_violations(page) == []
    context.close()
