"""The staff side in the team's own language, in headless Chromium over demo data: a
Swedish team lead and a Swedish admin open every page of their navigation, and a
Danish admin whose language comes from the browser alone does the same. No English
text of Kundpuls's own is left on any page, numbers use the language's decimal
comma, and axe-core finds no serious or critical violation."""

import gettext
import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from followups.models import FollowUp, StaffSettings
from surveys.models import Team
from tests.factories import UserFactory

from .conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
ADMIN_PAGES = [
    "/reports/",
    "/reports/monthly/",
    "/reports/compare/",
    "/reports/business/",
    "/reports/exports/",
    "/reports/responses/",
    "/followups/report/",
    "/setup/",
    "/setup/zendesk/",
    "/setup/health/",
    "/followups/?scope=all",
    "/me/",
]


def english_texts(language: str) -> tuple[set[str], list[str]]:
    """Kundpuls's English UI texts that the language's compiled catalogue translates
    differently: short ones (matched as a whole line of the page) and sentences
    (matched anywhere)."""
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.mo"
    with path.open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    texts = set()
    for key, translated in catalogue.items():
        msgid = key[0] if isinstance(key, tuple) else key  # (msgid, n) for plurals
        msgid = msgid.split("\x04")[-1]  # without its context
        if msgid and translated != msgid and "%(" not in msgid and "<" not in msgid:
            texts.add(" ".join(msgid.split()))
    # Each language is named in itself on the settings page ("English", "Svenska").
    names = {
        translation.get_language_info(code)["name_local"].capitalize()
        for code, _name in settings.LANGUAGES
    }
    short = {text for text in texts if len(text.split()) < 4 and len(text) >= 4} - names
    sentences = sorted(text for text in texts if len(text.split()) >= 4)
    return short, sentences


def english_left(page, language: str) -> list[str]:
    short, sentences = english_texts(language)
    text = page.locator("body").inner_text()
    lines = {" ".join(line.split()) for line in text.splitlines()}
    return sorted(lines & short) + [s for s in sentences if s in " ".join(text.split())]


def signed_in(chromium, live_server, user, *, locale: str):
    client = Client()
    client.force_login(user)
    context = chromium.new_context(
        viewport={"width": 1366, "height": 900}, locale=locale, bypass_csp=True
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def visit_all(context, live_server, paths, language):
    page = context.new_page()
    problems = {}
    for path in paths:
        page.goto(live_server.url + path)
        left = english_left(page, language)
        violations = axe_violations(page)
        if left or violations:
            problems[path] = {"english": left, "axe": violations}
        name = re.sub(r"\W+", "-", path.strip("/")) or "home"
        page.screenshot(path=SCREENSHOTS / f"staff-{language}-{name}.png", full_page=False)
    return page, problems


@pytest.fixture
def demo_data():
    SCREENSHOTS.mkdir(exist_ok=True)
    call_command("demo_data", tickets=300, stdout=StringIO())


def test_a_swedish_team_lead_and_admin_see_no_english_and_swedish_numbers(
    chromium, live_server, demo_data
):
    team = Team.objects.filter(agent__isnull=False).first()
    lead = UserFactory(username="lead@support.example", first_name="Lena")
    Team.objects.filter(pk=team.pk).update(lead=lead)
    StaffSettings.objects.create(user=lead, language="sv")
    case = FollowUp.objects.filter(survey__team=team).first()
    admin = UserFactory(username="chef@support.example", is_staff=True, is_superuser=True)
    StaffSettings.objects.create(user=admin, language="sv")

    lead_pages = [
        "/followups/",
        "/followups/?scope=all",
        f"/followups/{case.pk}/",
        "/scores/",
        "/me/",
    ]
    with signed_in(chromium, live_server, lead, locale="en-GB") as context:
        _page, lead_problems = visit_all(context, live_server, lead_pages, "sv")
    with signed_in(chromium, live_server, admin, locale="en-GB") as context:
        page, admin_problems = visit_all(context, live_server, ADMIN_PAGES, "sv")
        page.goto(live_server.url + "/reports/")
        figures = page.locator(".kp-headline").all_inner_texts()

    assert lead_problems == {}
    assert admin_problems == {}
    assert any(re.search(r"\d+,\d %", text) for text in figures), figures
    assert not any(re.search(r"\d+\.\d %", text) for text in figures), figures


def test_a_danish_admin_gets_danish_from_the_browser_alone(chromium, live_server, demo_data):
    admin = UserFactory(username="leder@support.example", is_staff=True, is_superuser=True)

    with signed_in(chromium, live_server, admin, locale="da-DK") as context:
        page, problems = visit_all(context, live_server, ["/reports/", "/followups/", "/me/"], "da")
        lang = page.evaluate("document.documentElement.lang")

    assert problems == {}
    assert lang == "da"
