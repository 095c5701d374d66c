"""Erasing and exporting a customer as an admin does it, in headless Chromium: the
customer's page offers the export, "Erase by address" asks for the address and a
confirmation, and afterwards the customer is a number without an address."""

from pathlib import Path

import pytest
from django.test import Client

from surveys.models import Customer
from tests.conftest import NOW, _validated, ticket_event
from tests.factories import UserFactory

from .conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def admin_page(chromium, live_server):
    from surveys import services

    services.ticket_ingest(event=_validated(ticket_event()), now=NOW)
    client = Client()
    client.force_login(
        UserFactory(username="dpo@support.example", is_staff=True, is_superuser=True)
    )
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    yield page
    context.close()


def test_an_admin_exports_and_then_erases_a_customer_by_address(admin_page, live_server):
    page = admin_page
    SCREENSHOTS.mkdir(exist_ok=True)
    customer = Customer.objects.get()

    page.goto(f"{live_server.url}/admin/surveys/customer/{customer.pk}/change/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export data (JSON)").click()
    page.screenshot(path=SCREENSHOTS / "admin-customer-export.png")
    page.goto(f"{live_server.url}/admin/surveys/customer/")
    page.get_by_role("link", name="Erase by address").click()
    page.get_by_label("Email address").fill("anna@example.se")
    page.get_by_label("I understand that this cannot be undone").check()
    violations = axe_violations(page)
    page.screenshot(path=SCREENSHOTS / "admin-customer-erase.png")
    page.get_by_role("button", name="Erase").click()
    page.screenshot(path=SCREENSHOTS / "admin-customer-erased.png")

    assert '"anna@example.se"' in Path(download.value.path()).read_text()
    assert "rows changed or deleted" in page.locator(".messagelist").inner_text()
    assert Customer.objects.get().email == f"erased-{customer.pk}@erased.invalid"
    assert violations == []
