"""A customer's data given to them (export), and erasure and export over the API and in
the admin, each on the audit trail."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from followups import services as cases
from followups.models import FollowUp
from privacy.models import AuditEvent
from surveys import answering
from surveys.api_auth import api_key_create
from surveys.models import Customer, Response
from tests.factories import UserFactory
from tests.test_survey_page import answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api() -> APIClient:
    _key, plain = api_key_create(name="dpo", admin=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def unhappy(client, sent_survey, time_machine, *, email, comment, external_id="48213"):
    """A customer who answered CSAT 1 with a comment and got a case with a note."""
    ticket, token = sent_survey(
        external_id=external_id, requester={"email": email, "name": "Anna", "locale": "sv"}
    )
    answer(client, time_machine, token, {"csat": "1", "comment": comment}, query="?csat=1")
    for response in Response.objects.filter(invitation__survey__ticket=ticket):
        answering.response_process(response_id=response.pk)
    case = FollowUp.objects.get(survey__ticket=ticket)
    cases.followup_note_add(
        followup=case, actor=UserFactory(), text=f"note for {email}", now=timezone.now()
    )
    return ticket


def test_export_gives_everything_about_one_customer_and_nobody_else(
    client, sent_survey, time_machine, admin_api
):
    unhappy(client, sent_survey, time_machine, email="anna@kund.example", comment="Trasig")
    unhappy(
        client,
        sent_survey,
        time_machine,
        email="hanna@kund.example",
        comment="Sen",
        external_id="2",
    )

    body = admin_api.get("/api/v1/customers/export?email=Anna@Kund.example").json()

    assert body["customer"]["email"] == "anna@kund.example"
    [ticket] = body["tickets"]
    assert ticket["ticket"] == "48213"
    [csat] = [q for q in ticket["survey"]["questions"] if q["kind"] == "csat"]
    assert (csat["answer"]["score"], csat["answer"]["comment"]) == (1, "Trasig")
    assert [h["comment"] for h in csat["answer"]["history"]] == ["Trasig"]
    case = ticket["survey"]["follow_up_case"]
    assert [e["text"] for e in case["history"] if e["what"] == "note"] == [
        "note for anna@kund.example"
    ]
    assert [e["what"] for e in body["emails"]] == ["survey"]
    assert "hanna" not in str(body) and "Sen" not in str(body)


def test_export_of_an_unknown_address_is_a_404(admin_api):
    response = admin_api.get("/api/v1/customers/export?email=nobody@kund.example")

    assert (response.status_code, response.json()) == (
        404,
        {"detail": "No customer has this address."},
    )


def test_erase_and_export_need_an_admin_key(api, sent_survey):
    sent_survey()

    erase = api.post("/api/v1/customers/erase", {"email": "anna@example.se"}, format="json")
    export = api.get("/api/v1/customers/export?email=anna@example.se")

    assert (erase.status_code, export.status_code) == (403, 403)
    assert "admin API key" in erase.json()["detail"]
    assert Customer.objects.get().email == "anna@example.se"


def test_erase_over_the_api_is_idempotent_and_audited(admin_api, sent_survey):
    sent_survey()

    first = admin_api.post("/api/v1/customers/erase", {"email": "anna@example.se"}, format="json")
    second = admin_api.post("/api/v1/customers/erase", {"email": "anna@example.se"}, format="json")

    assert (first.status_code, first.json()["erased"], first.json()["rows"]["tickets"]) == (
        200,
        1,
        1,
    )
    assert (second.status_code, second.json()) == (200, {"erased": 0, "rows": {}})
    assert list(AuditEvent.objects.values_list("action", "actor", "via").order_by("pk")) == [
        ("erased", "API key dpo", "api"),
        ("erased", "API key dpo", "api"),
    ]


def test_erase_refuses_a_malformed_address_with_a_400(admin_api):
    response = admin_api.post("/api/v1/customers/erase", {"email": "not an address"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"email"}


def test_the_admin_erases_by_address_after_confirmation(admin_client, sent_survey):
    sent_survey()

    unconfirmed = admin_client.post("/admin/surveys/customer/erase/", {"email": "anna@example.se"})
    done = admin_client.post(
        "/admin/surveys/customer/erase/", {"email": "anna@example.se", "confirm": "on"}
    )

    assert unconfirmed.status_code == 200  # the form again, with its error
    assert done.status_code == 302
    assert Customer.objects.get().erased_at is not None
    assert AuditEvent.objects.get(action="erased").via == "admin"


def test_the_admin_action_asks_before_it_erases(admin_client, sent_survey):
    ticket, _token = sent_survey()
    selected = {"action": "erase_selected", "_selected_action": [ticket.requester_id]}

    asked = admin_client.post("/admin/surveys/customer/", selected)
    untouched = Customer.objects.get().erased_at
    admin_client.post("/admin/surveys/customer/", {**selected, "confirmed": "yes"})

    assert "cannot be undone" in asked.content.decode()
    assert untouched is None
    assert Customer.objects.get().erased_at is not None


def test_the_admin_export_button_downloads_the_json_and_is_audited(admin_client, sent_survey):
    ticket, _token = sent_survey()

    page = admin_client.get(f"/admin/surveys/customer/{ticket.requester_id}/change/")
    download = admin_client.get(f"/admin/surveys/customer/{ticket.requester_id}/export/")

    assert f"/admin/surveys/customer/{ticket.requester_id}/export/" in page.content.decode()
    assert download["Content-Disposition"].startswith("attachment;")
    assert download.json()["customer"]["email"] == "anna@example.se"
    event = AuditEvent.objects.get(action="exported")
    assert (event.customer_id, event.via) == (ticket.requester_id, "admin")


def test_a_sign_in_goes_on_the_audit_trail(client):
    user = UserFactory(username="lead", is_staff=True)
    user.set_password("pw-for-tests-only")
    user.save()

    client.post("/login/", {"username": "lead", "password": "pw-for-tests-only"})

    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.user_id) == ("signed_in", "lead", user.pk)


def test_the_audit_trail_is_read_only_in_the_admin(admin_client):
    page = admin_client.get("/admin/privacy/auditevent/")

    assert page.status_code == 200
    assert admin_client.get("/admin/privacy/auditevent/add/").status_code == 403


def test_a_changed_retention_policy_is_audited_with_its_new_values(admin_client):
    policy_page = admin_client.get("/admin/privacy/retentionpolicy/")
    change_url = policy_page["Location"]

    admin_client.post(
        change_url, {"comments_months": "24", "clicks_days": "90", "payloads_days": "30"}
    )

    event = AuditEvent.objects.filter(action="retention_changed").get()
    assert event.detail == {"comments_months": 24}
