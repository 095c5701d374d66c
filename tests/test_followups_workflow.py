"""The agents' follow-up workflow: opening rules, due times, roles on every page and
the API, case actions, escalation and the daily digest."""

import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from followups import recovery
from followups import services as followups
from followups import tasks as followups_tasks
from followups.models import (
    FollowUp,
    FollowUpEvent,
    FollowUpThreshold,
    FollowUpWord,
    TeamServiceLevel,
)
from metrics import followup_report
from surveys.models import Response
from tests.conftest import NOW
from tests.factories import (
    CustomerFactory,
    InvitationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
# NOW (2026-11-21 12:00 UTC) is a Saturday; Monday 23 November 09:00 in Stockholm:
MONDAY_MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def local(*args):
    return datetime(*args, tzinfo=STOCKHOLM)


def due(opened, hours=8):
    return followups.due_time(
        opened=opened,
        hours=hours,
        day_start=time(8),
        day_end=time(16),
        weekdays=WEEKDAYS,
        zone=STOCKHOLM,
    )


def answer(agent, team, *, score=1, comment="", kind="csat", scale_points=5, customer=None):
    invitation = InvitationFactory(
        ticket__assignee=agent,
        ticket__team=team,
        ticket__requester=customer or CustomerFactory(),
        kind=kind,
        scale_points=scale_points,
        state="answered",
    )
    return Response.objects.create(
        invitation=invitation, raw_score=score, score=score, comment=comment, answered_at=NOW
    )


def open_case(agent, team, now=MONDAY_MORNING, **kwargs):
    response = answer(agent, team, **kwargs)
    return followups.followup_flag(survey=response.invitation.survey, now=now)


# --- Opening cases and due times ----------------------------------------------------


def test_flag_run_twice_opens_one_case_with_one_event(cast):
    response = answer(cast.a, cast.team, score=2)

    followups.followup_flag(survey=response.invitation.survey, now=NOW)
    followups.followup_flag(survey=response.invitation.survey, now=NOW)

    assert FollowUp.objects.get().owner == cast.a
    assert list(FollowUpEvent.objects.values_list("kind", flat=True)) == ["opened"]


def test_flag_opens_case_for_listed_word_in_good_comment(cast):
    FollowUpWord.objects.create(word="Cancel")

    followup = open_case(cast.a, cast.team, score=5, comment="I will cancel my plan")

    assert followup.reason == "CSAT 5 of 5, comment mentions “Cancel”"


def test_flag_ignores_good_score_without_listed_word(cast):
    FollowUpWord.objects.create(word="cancel")

    assert open_case(cast.a, cast.team, score=5, comment="Lovely, thanks") is None


def test_flag_uses_threshold_set_in_admin(cast):
    FollowUpThreshold.objects.create(kind="csat", scale_points=5, low_up_to=3)

    followup = open_case(cast.a, cast.team, score=3)

    assert followup.reason == "CSAT 3 of 5"


def test_due_time_on_a_friday_afternoon_falls_on_monday():
    assert due(local(2026, 11, 20, 15, 0)) == local(2026, 11, 23, 15, 0)


def test_due_time_opened_on_a_weekend_counts_from_monday_morning():
    assert due(local(2026, 11, 21, 13, 0)) == local(2026, 11, 23, 16, 0)


def test_due_time_opened_after_hours_counts_from_next_morning():
    assert due(local(2026, 11, 24, 20, 0), hours=2) == local(2026, 11, 25, 10, 0)


def test_due_time_opened_before_hours_counts_from_opening():
    assert due(local(2026, 11, 24, 6, 30), hours=3) == local(2026, 11, 24, 11, 0)


def test_flag_due_time_follows_team_service_level(cast):
    TeamServiceLevel.objects.create(
        team=cast.team, hours=2, start=time(10), end=time(18), weekdays="1234567"
    )

    followup = open_case(cast.a, cast.team, now=NOW)  # Saturday 13:00 in Stockholm

    assert followup.due_at == local(2026, 11, 21, 15, 0)


# --- Who sees what ------------------------------------------------------------------

PAGES = ["inbox", "detail", "note", "email", "reassign", "recovery", "recovery_thanks"]
# What each role gets from each page of agent A's case. The customer's recovery page
# (and its thank-you page) is public: the link token is the key.
EXPECTED = {
    "anonymous": [302, 302, 302, 302, 302, 200, 200],
    "a": [200, 200, 302, 200, 403, 200, 200],
    "b": [200, 404, 404, 404, 404, 200, 200],
    "lead": [200, 200, 302, 200, 302, 200, 200],
    "admin": [200, 200, 302, 200, 302, 200, 200],
}


def recovery_link(followup, mailoutbox):
    """Resolve the case and ask the customer; the path of the email's link."""
    followups.followup_status_set(followup=followup, status="resolved")
    recovery.recovery_send(followup_id=followup.pk, now=timezone.now())
    return re.search(r"http://testserver(/r/[\w-]+/)", mailoutbox[-1].body).group(1)


def _request(client, page, followup, cast):
    base = f"/followups/{followup.pk}/"
    if page in ("recovery", "recovery_thanks"):
        path = cast.recovery_path + ("thanks/" if page == "recovery_thanks" else "")
        return client.get(path + "?answer=yes")
    if page == "inbox":
        return client.get("/followups/")
    if page == "detail":
        return client.get(base)
    if page == "note":
        return client.post(base + "note/", {"text": "Called, no answer"})
    if page == "email":
        return client.get(base + "email/")
    return client.post(base + "reassign/", {"owner": cast.b.pk})


@pytest.mark.parametrize("who", list(EXPECTED))
def test_followup_pages_answer_each_role(client, cast, who, mailoutbox):
    followup = open_case(cast.a, cast.team)
    cast.recovery_path = recovery_link(open_case(cast.a, cast.team), mailoutbox)
    if who != "anonymous":
        client.force_login(getattr(cast, who))

    codes = [_request(client, page, followup, cast).status_code for page in PAGES]

    assert codes == EXPECTED[who]


def test_followup_pages_send_anonymous_to_login(client, cast):
    followup = open_case(cast.a, cast.team)

    page = client.get(f"/followups/{followup.pk}/")

    assert page["Location"] == f"/login/?next=/followups/{followup.pk}/"


@pytest.mark.parametrize("who", ["anonymous", "a", "lead", "admin"])
def test_followups_api_refuses_sessions(client, cast, who):
    followup = open_case(cast.a, cast.team)
    if who != "anonymous":
        client.force_login(getattr(cast, who))

    listing = client.get("/api/v1/followups")
    patch = client.patch(
        f"/api/v1/followups/{followup.pk}", {"status": "resolved"}, content_type="application/json"
    )

    assert (listing.status_code, patch.status_code) == (401, 401)
    assert FollowUp.objects.get().status == "new"


def test_inbox_lists_own_cases_overdue_first(client, cast, time_machine):
    later = open_case(cast.a, cast.team, now=MONDAY_MORNING)
    overdue = open_case(cast.a, cast.team, now=MONDAY_MORNING - timedelta(days=3))
    open_case(cast.b, cast.team)
    time_machine.move_to(MONDAY_MORNING + timedelta(hours=1), tick=False)
    client.force_login(cast.a)

    page = client.get("/followups/")

    assert [f.pk for f in page.context["followups"]] == [overdue.pk, later.pk]
    assert b"Overdue" in page.content


def test_inbox_all_scope_shows_lead_the_team_cases(client, cast):
    open_case(cast.a, cast.team)
    open_case(cast.b, cast.team)
    client.force_login(cast.lead)

    page = client.get("/followups/?scope=all")

    assert {f.owner for f in page.context["followups"]} == {cast.a, cast.b}


def test_case_page_shows_customer_earlier_scores_and_cases(client, cast):
    customer = CustomerFactory(email="eva@example.se")
    earlier = open_case(cast.a, cast.team, score=2, comment="Slow", customer=customer)
    followup = open_case(cast.a, cast.team, score=1, customer=customer)
    client.force_login(cast.a)

    page = client.get(f"/followups/{followup.pk}/")

    assert page.context["earlier_cases"] == [earlier]
    assert [r.comment for r in page.context["earlier_responses"]] == ["Slow"]


# --- Case actions -------------------------------------------------------------------


def test_note_goes_on_the_history(client, cast):
    followup = open_case(cast.a, cast.team)
    client.force_login(cast.a)

    client.post(f"/followups/{followup.pk}/note/", {"text": "Left a voicemail"})

    event = followup.events.get(kind="note")
    assert (event.actor, event.text) == (cast.a, "Left a voicemail")


def test_status_and_outcome_changes_are_recorded(client, cast):
    followup = open_case(cast.a, cast.team)
    client.force_login(cast.a)

    client.post(f"/followups/{followup.pk}/", {"status": "resolved", "outcome": "recovered"})

    followup.refresh_from_db()
    assert (followup.status, followup.outcome) == ("resolved", "recovered")
    changes = followup.events.exclude(kind="opened").values_list("kind", "old", "new")
    assert list(changes) == [("status", "new", "resolved"), ("outcome", "unknown", "recovered")]


def test_email_form_is_drafted_in_customer_language(client, cast):
    customer = CustomerFactory(email="eva@example.se", name="Eva Lund", locale="sv")
    followup = open_case(cast.a, cast.team, customer=customer)
    client.force_login(cast.a)

    form = client.get(f"/followups/{followup.pk}/email/").context["form"]

    assert form.initial["subject"] == f"Om ditt supportärende {followup.survey.ticket.external_id}"
    assert form.initial["body"].startswith("Hej Eva!")


def test_email_to_customer_is_sent_and_recorded(client, cast, mailoutbox):
    followup = open_case(cast.a, cast.team)
    client.force_login(cast.a)

    client.post(f"/followups/{followup.pk}/email/", {"subject": "Sorry", "body": "Can I call you?"})

    [message] = mailoutbox
    assert (message.to, message.reply_to, message.subject) == (
        [followup.survey.customer.email],
        ["a@support.example"],
        "Sorry",
    )
    followup.refresh_from_db()
    assert (followup.status, followup.first_contacted_at is not None) == ("contacted", True)
    assert followup.events.get(kind="email").text == "Can I call you?"


def test_lead_reassigns_and_new_owner_is_emailed(
    client, cast, mailoutbox, django_capture_on_commit_callbacks
):
    followup = open_case(cast.a, cast.team)
    client.force_login(cast.lead)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/followups/{followup.pk}/reassign/", {"owner": cast.b.pk})

    assert FollowUp.objects.get().owner == cast.b
    assert [m.to for m in mailoutbox] == [["b@support.example"]]
    assert followup.events.get(kind="owner").new == "b@support.example"


def test_lead_cannot_reassign_outside_the_team(client, cast):
    followup = open_case(cast.a, cast.team)
    stranger = UserFactory(username="stranger@support.example")
    client.force_login(cast.lead)

    page = client.post(f"/followups/{followup.pk}/reassign/", {"owner": stranger.pk})

    assert page.status_code == 200
    assert FollowUp.objects.get().owner == cast.a


# --- Escalation and digest ----------------------------------------------------------


def test_sweep_run_twice_escalates_overdue_case_once(cast, mailoutbox, time_machine):
    followup = open_case(cast.a, cast.team)
    time_machine.move_to(followup.due_at + timedelta(minutes=1), tick=False)

    first = followups_tasks.followups_sweep()
    second = followups_tasks.followups_sweep()

    assert (first[0], second[0]) == (1, 0)
    escalations = [m for m in mailoutbox if m.subject.startswith("Overdue follow-up")]
    assert [m.to for m in escalations] == [["lead@support.example"]]
    assert FollowUp.objects.get().escalated_at is not None


def test_sweep_leaves_cases_within_due_time_and_closed_cases(cast, time_machine):
    open_case(cast.a, cast.team)
    closed = open_case(cast.a, cast.team, now=MONDAY_MORNING - timedelta(days=7))
    followups.followup_status_set(followup=closed, status="resolved")
    time_machine.move_to(MONDAY_MORNING + timedelta(hours=1), tick=False)

    assert followups.followups_overdue(now=MONDAY_MORNING + timedelta(hours=1)) == []


def test_sweep_leaves_a_case_contacted_in_time_past_its_due_time(cast, mailoutbox, time_machine):
    followup = open_case(cast.a, cast.team, now=MONDAY_MORNING - timedelta(days=7))
    followups.followup_status_set(followup=followup, status="contacted", actor=cast.a)
    time_machine.move_to(MONDAY_MORNING, tick=False)

    followups_tasks.followups_sweep()

    followup.refresh_from_db()
    assert (followup.is_overdue, followup.escalated_at) == (False, None)
    assert not [m for m in mailoutbox if "lead@support.example" in m.to]


def test_digest_goes_once_a_day_per_owner(cast, mailoutbox, time_machine):
    open_case(cast.a, cast.team)
    open_case(cast.b, cast.team)
    time_machine.move_to(MONDAY_MORNING + timedelta(minutes=5), tick=False)

    followups_tasks.followups_sweep()
    followups_tasks.followups_sweep()
    time_machine.move_to(MONDAY_MORNING + timedelta(days=1), tick=False)
    followups_tasks.followups_sweep()

    digests = [m.to[0] for m in mailoutbox if "open follow-up case" in m.subject]
    assert sorted(digests) == ["a@support.example"] * 2 + ["b@support.example"] * 2


def test_digest_waits_for_the_morning(cast, mailoutbox, time_machine):
    open_case(cast.a, cast.team)
    time_machine.move_to(local(2026, 11, 23, 6, 30), tick=False)

    assert followups_tasks.followups_sweep() == (0, 0)


def test_digest_hour_is_a_setting(cast, mailoutbox, time_machine, settings):
    settings.FOLLOWUP_DIGEST_HOUR = 9
    open_case(cast.a, cast.team)
    time_machine.move_to(local(2026, 11, 23, 8, 30), tick=False)
    early = followups_tasks.followups_sweep()
    time_machine.move_to(local(2026, 11, 23, 9, 5), tick=False)

    assert (early, followups_tasks.followups_sweep()) == ((0, 0), (0, 1))
    assert [m.to for m in mailoutbox] == [["a@support.example"]]


# --- API ------------------------------------------------------------------------------


def test_api_filters_by_owner_team_and_overdue(api, cast, time_machine):
    overdue = open_case(cast.a, cast.team, now=MONDAY_MORNING - timedelta(days=3))
    open_case(cast.b, cast.team)
    time_machine.move_to(MONDAY_MORNING + timedelta(hours=1), tick=False)

    mine = api.get("/api/v1/followups?owner=a@support.example").json()["results"]
    late = api.get("/api/v1/followups?overdue=true&team=Billing").json()["results"]

    assert [f["owner"] for f in mine] == ["a@support.example"]
    assert [f["id"] for f in late] == [overdue.pk]


def test_api_patch_changes_status_outcome_and_owner(api, cast):
    followup = open_case(cast.a, cast.team)

    reply = api.patch(
        f"/api/v1/followups/{followup.pk}",
        {"status": "resolved", "outcome": "not_recovered", "owner": "b@support.example"},
        format="json",
    )

    assert reply.status_code == 200
    body = reply.json()
    assert (body["status"], body["outcome"], body["owner"]) == (
        "resolved",
        "not_recovered",
        "b@support.example",
    )
    assert set(followup.events.values_list("kind", flat=True)) == {
        "opened",
        "status",
        "outcome",
        "owner",
    }


def test_api_patch_rejects_unknown_owner(api, cast):
    followup = open_case(cast.a, cast.team)

    reply = api.patch(
        f"/api/v1/followups/{followup.pk}", {"owner": "nobody@example.se"}, format="json"
    )

    assert reply.status_code == 400
    assert FollowUp.objects.get().owner == cast.a


def test_api_patch_unknown_case_is_404(api):
    assert api.patch("/api/v1/followups/999", {"status": "resolved"}).status_code == 404


# --- Recovery report ------------------------------------------------------------------


def test_recovery_row_counts_in_time_contacts_median_and_recovery():
    opened = MONDAY_MORNING
    cases = [
        {"created_at": opened, "due_at": opened + timedelta(hours=8),
         "recovery_answer": "recovered", "first_contacted_at": opened + timedelta(hours=1)},
        {"created_at": opened, "due_at": opened + timedelta(hours=8),
         "recovery_answer": "not_recovered", "first_contacted_at": opened + timedelta(hours=9)},
        {"created_at": opened, "due_at": opened + timedelta(hours=8),
         "recovery_answer": None, "first_contacted_at": None},
    ]  # fmt: skip

    row = followup_report.recovery_row("a@support.example", cases)

    assert (row["opened"], row["median_wait"], row["recovery_rate"]) == (3, timedelta(hours=5), 50)
    assert (row["answered"], row["recovered"], row["in_time_count"]) == (2, 1, 1)
    assert row["in_time"] == pytest.approx(100 / 3)


@pytest.mark.parametrize(
    ("who", "code"), [("anonymous", 302), ("a", 403), ("lead", 403), ("admin", 200)]
)
def test_recovery_report_page_is_for_admins(client, cast, who, code):
    followup = open_case(cast.a, cast.team, now=timezone.now())
    followups.followup_status_set(followup=followup, status="resolved")
    recovery.recovery_send(followup_id=followup.pk, now=timezone.now())
    recovery.recovery_answer_record(
        followup_id=followup.pk, recovered=True, comment="", now=timezone.now()
    )
    if who != "anonymous":
        client.force_login(getattr(cast, who))

    page = client.get("/followups/report/")

    assert page.status_code == code
    if code == 200:
        assert page.context["report"]["total"][0]["recovery_rate"] == 100


def test_recovery_report_names_agents_and_teams(client, cast):
    followup = open_case(cast.a, cast.team, now=timezone.now())
    followups.followup_status_set(followup=followup, status="resolved")
    recovery.recovery_send(followup_id=followup.pk, now=timezone.now())
    recovery.recovery_answer_record(
        followup_id=followup.pk, recovered=True, comment="", now=timezone.now()
    )
    client.force_login(cast.admin)

    report = client.get("/followups/report/").context["report"]

    assert [row["name"] for row in report["agents"]] == [cast.a.get_full_name()]
    assert [(row["name"], row["recovered"], row["answered"]) for row in report["teams"]] == [
        ("Billing", 1, 1)
    ]


def test_case_change_publishes_followup_updated_webhook(cast, django_capture_on_commit_callbacks):
    from integrations import outbound
    from integrations.models import WebhookDelivery

    outbound.subscription_create(
        url="https://hooks.example.com/", events=["followup.created", "followup.updated"]
    )
    followup = open_case(cast.a, cast.team)

    with django_capture_on_commit_callbacks(execute=True):
        followups.followup_status_set(followup=followup, status="resolved", outcome="recovered")

    # The change, then the recovery survey sent to the customer after commit.
    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [d.event_type for d in deliveries] == ["followup.created"] + ["followup.updated"] * 2
    body = json.loads(deliveries[1].body)
    assert (body["data"]["status"], body["data"]["outcome"]) == ("resolved", "recovered")
