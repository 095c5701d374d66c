import json
from datetime import timedelta

import pytest

from surveys.models import Category, Customer, Invitation, Ticket
from tests.conftest import NOW, ticket_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def post(api, event):
    return api.post(URL, data=json.dumps(event), content_type="application/json")


def test_ticket_post_creates_then_updates(api):
    first = post(api, ticket_event())
    second = post(api, ticket_event(subject="Refund received late"))

    assert first.status_code == 201
    assert second.status_code == 200
    assert Ticket.objects.get().subject == "Refund received late"


def test_ticket_post_schedules_csat_ces_nps_after_delay(api, settings):
    settings.SURVEY_SEND_DELAY = 3600

    post(api, ticket_event(solved_at=NOW.isoformat()))

    invitations = Invitation.objects.order_by("kind")
    assert [(i.kind, i.survey.state) for i in invitations] == [
        ("ces", "scheduled"),
        ("csat", "scheduled"),
        ("nps", "scheduled"),
    ]
    assert invitations[0].survey.send_after == NOW + timedelta(hours=1)


def test_ticket_post_twice_changes_nothing(api):
    post(api, ticket_event())
    before = list(Invitation.objects.values())

    again = post(api, ticket_event())

    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert list(Invitation.objects.values()) == before
    assert Ticket.objects.count() == 1


def test_ticket_post_without_key_is_401(client):
    response = client.post(URL, data=json.dumps(ticket_event()), content_type="application/json")

    assert response.status_code == 401
    assert Ticket.objects.count() == 0


def test_ticket_post_with_wrong_key_is_401(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer kp_nope_nope")

    response = post(api, ticket_event())

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_ticket_post_malformed_json_is_400(api):
    response = api.post(URL, data='{"source": "zendesk",', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_ticket_post_missing_requester_email_names_the_field(api):
    event = ticket_event(requester={"name": "Anna Berg"})

    response = post(api, event)

    assert response.status_code == 400
    assert response.json() == {"requester": {"email": ["This field is required."]}}
    assert Ticket.objects.count() == 0


def test_ticket_post_solved_without_solved_at_is_400(api):
    response = post(api, ticket_event(solved_at=None))

    assert response.status_code == 400
    assert response.json() == {"solved_at": ["Required when status is solved."]}


def test_ticket_post_unknown_locale_falls_back_to_english(api):
    post(api, ticket_event(requester={"email": "kim@example.de", "locale": "de-DE"}))

    assert Customer.objects.get().locale == "en"


def test_ticket_post_maps_regional_locale(api):
    post(api, ticket_event(requester={"email": "ola@example.no", "locale": "no-NO"}))

    assert Customer.objects.get().locale == "nb"
    assert set(Invitation.objects.values_list("survey__locale", flat=True)) == {"nb"}


def test_ticket_reopened_before_sending_cancels_invitations(api):
    post(api, ticket_event())

    post(api, ticket_event(status="open", solved_at=None, reopens=1))

    assert set(Invitation.objects.values_list("survey__state", flat=True)) == {"cancelled"}


def test_ticket_solved_again_after_reopen_is_surveyed(api):
    post(api, ticket_event())
    post(api, ticket_event(status="open", solved_at=None, reopens=1))

    post(api, ticket_event(reopens=1, solved_at="2026-11-21T11:30:00Z"))

    assert set(Invitation.objects.values_list("survey__state", flat=True)) == {"scheduled"}


def test_ticket_tagged_no_survey_is_suppressed(api):
    post(api, ticket_event(tags=["no-survey"]))

    invitation = Invitation.objects.get()
    assert (invitation.survey.state, invitation.survey.reason) == (
        "suppressed",
        "ticket tagged no-survey",
    )


def test_nps_asked_at_most_once_per_90_days(api):
    post(api, ticket_event())

    post(api, ticket_event(external_id="48214"))

    second = Invitation.objects.filter(survey__ticket__external_id="48214")
    assert sorted(second.values_list("kind", flat=True)) == ["ces", "csat"]


def test_history_import_of_old_solved_tickets_sends_nothing(api):
    post(api, ticket_event(created_at="2026-06-01T08:00:00Z", solved_at="2026-06-02T08:00:00Z"))

    invitation = Invitation.objects.get()
    assert invitation.survey.state == "suppressed"
    assert invitation.survey.reason == "solved too long ago to survey"


def test_reassignment_after_solve_keeps_credit(api):
    post(api, ticket_event())

    post(api, ticket_event(assignee={"email": "eva@support.example", "name": "Eva Lind"}))

    ticket = Ticket.objects.get()
    assert ticket.assignee.email == "lars@support.example"
    assert {s.agent.email for s in ticket.surveys.all()} == {"lars@support.example"}


def test_ticket_reply_gives_the_survey_as_stored_in_utc(api, settings):
    from surveys.models import Survey

    settings.SURVEY_SEND_DELAY = 3600
    solved = "2026-11-21T16:00:00+01:00"  # a helpdesk in Stockholm

    first = post(api, ticket_event(solved_at=solved)).json()
    again = post(api, ticket_event(solved_at=solved)).json()

    assert first["survey"]["send_after"] == "2026-11-21T16:00:00Z"
    assert again["survey"] == first["survey"]
    assert Survey.objects.get().send_after.isoformat() == "2026-11-21T16:00:00+00:00"
    assert [i["send_after"] for i in first["invitations"]] == ["2026-11-21T16:00:00Z"] * 3


def test_ticket_categories_match_whatever_their_case_and_spacing(api):
    for external_id, category in (("1", "Returns"), ("2", " returns "), ("3", "RETURNS")):
        event = ticket_event(external_id=external_id, category=category)
        assert api.post("/api/v1/tickets", data=event, format="json").status_code == 201

    assert set(Ticket.objects.values_list("category", flat=True)) == {"returns"}
    assert list(Category.objects.values_list("key", "name")) == [("returns", "Returns")]
