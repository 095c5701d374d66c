"""Staff pages in the staff member's language: their choice on their settings page,
else the browser's; numbers in that language's format."""

from datetime import date

import pytest
from django.utils import translation

from followups.models import StaffSettings, staff_language
from metrics.templatetags.metrics_tags import day, money, pct, signed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_browsers_language_is_used_until_one_is_chosen(client):
    client.force_login(UserFactory())

    page = client.get("/followups/", HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9")

    assert page["Content-Language"] == "sv"
    assert ">Uppföljningar</a>" in page.content.decode()


def test_a_chosen_language_wins_over_the_browsers(client):
    user = UserFactory()
    client.force_login(user)

    saved = client.post("/me/", {"language": "da"}, HTTP_ACCEPT_LANGUAGE="sv")
    page = client.get("/followups/", HTTP_ACCEPT_LANGUAGE="sv")

    assert saved.status_code == 302
    assert page["Content-Language"] == "da"
    assert ">Opfølgninger</a>" in page.content.decode()
    assert staff_language(user) == "da"


def test_emails_follow_the_language_the_browser_last_asked_for(client):
    user = UserFactory()
    client.force_login(user)

    client.get("/followups/", HTTP_ACCEPT_LANGUAGE="fi")

    assert staff_language(user) == "fi"
    assert StaffSettings.objects.get(user=user).language == ""


def test_a_staff_member_without_settings_gets_the_sites_language():
    assert staff_language(UserFactory()) == "en"


def test_the_settings_page_names_each_language_in_itself(client):
    client.force_login(UserFactory())

    page = client.get("/me/").content.decode()

    assert all(name in page for name in ("Svenska", "Norsk (bokmål)", "Dansk", "Suomi", "Frysk"))


def test_figures_take_the_languages_decimal_mark():
    with translation.override("sv"):
        swedish = (pct(81.25), signed(-2.04), money(12345.5))
    english = (pct(81.25), signed(-2.04), money(12345.5))

    assert swedish == ("81,2 %", "-2,0", "12\xa0345,50")
    assert english == ("81.2 %", "-2.0", "12,345.50")


@pytest.mark.parametrize(
    ("language", "written"),
    [("en", "5 Dec 2026"), ("sv", "5 dec 2026"), ("da", "5. dec 2026"), ("fi", "5.12.2026")],
)
def test_report_dates_are_written_as_the_language_writes_them(language, written):
    with translation.override(language):
        assert day(date(2026, 12, 5)) == written
