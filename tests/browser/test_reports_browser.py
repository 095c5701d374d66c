"""The reports as an admin sees them: headless Chromium opens the dashboard and the
monthly report over demo data, with no internet, and the charts are drawn."""

import os
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Min
from django.test import Client
from django.utils import timezone

from surveys.models import Ticket
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
# Gitignored: look at these after a run.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM must still work.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()
    if before is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def admin_page(browser, live_server) -> Iterator[tuple[Any, list[str]]]:
    """A laptop-sized page logged in as staff over demo data; and every URL it fetched."""
    call_command("demo_data", tickets=300, stdout=StringIO())
    client = Client()
    client.force_login(UserFactory(username="boss@support.example", is_staff=True))
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    yield page, fetched
    context.close()


def test_dashboard_draws_its_charts(admin_page, live_server):
    page, fetched = admin_page

    page.goto(f"{live_server.url}/reports/")

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "reports-dashboard.png", full_page=True)
    charts = page.locator(".kp-chart svg.pygal-chart")
    assert charts.count() == 2
    assert charts.first.bounding_box()["width"] > 500
    assert page.locator(".kp-chart svg .series path.line").count() >= 4
    bars = page.locator(".kp-dist .kp-bar").all()
    assert max(bar.bounding_box()["width"] for bar in bars) > 50  # drawn, and styled
    assert page.locator(".kp-headline[data-metric=csat] .kp-score").inner_text().endswith("%")
    assert [url for url in fetched if not url.startswith(live_server.url)] == []


def test_dashboard_bootstrap_and_report_styles_load_from_the_server(admin_page, live_server):
    page, _fetched = admin_page

    page.goto(f"{live_server.url}/reports/")

    nav_colour = page.locator("nav.kp-nav").evaluate("e => getComputedStyle(e).backgroundColor")
    assert nav_colour == "rgb(33, 37, 41)"  # Bootstrap's bg-dark: its CSS was served


def test_monthly_report_draws_its_charts_and_prints_without_the_menu(admin_page, live_server):
    page, fetched = admin_page

    page.goto(f"{live_server.url}/reports/monthly/")
    page.emulate_media(media="print")

    page.screenshot(path=SCREENSHOTS / "reports-monthly-print.png", full_page=True)
    assert page.locator(".kp-chart svg.pygal-chart").count() == 2
    assert page.locator(".kp-chart svg .series path.line").count() >= 6
    assert page.locator("nav.kp-nav").is_visible() is False
    # From the demo's first month (it opens on the months with data) to this one.
    first = timezone.localdate(Ticket.objects.aggregate(first=Min("created_at"))["first"])
    today = timezone.localdate()
    months = min(12, (today.year - first.year) * 12 + today.month - first.month + 1)
    assert page.locator(".kp-tracker tbody tr").count() == months
    assert [url for url in fetched if not url.startswith(live_server.url)] == []
