"""The recovery survey: "Did we sort it out?" goes to the customer once a follow-up case
is resolved, and the answer on its link page sets the case's outcome."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from followups import recovery
from followups import services as followups
from followups import tasks as followups_tasks
from followups.models import FollowUp, FollowUpEvent
from surveys.models import Agent, Response, SurveyPolicy
from tests.factories import CustomerFactory, InvitationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LANGUAGES = ["sv", "nb", "da", "fi", "fy"]


def open_case(locale="sv", **customer):
    agent = UserFactory(username="lars@support.example")
    Agent.objects.get_or_create(user=agent, defaults={"team": TeamFactory(name="Billing")})
    invitation = InvitationFactory(
        ticket__assignee=agent,
        ticket__subject="Refund not received",
        ticket__requester=CustomerFactory(
            **{"email": "anna@example.se", "name": "Anna Berg", "locale": locale, **customer}
        ),
        state="answered",
    )
    response = Response.objects.create(invitation=invitation, raw_score=1, score=1)
    return followups.followup_flag(survey=response.invitation.survey, now=timezone.now())


def resolve(followup, capture):
    with capture(execute=True):
        followups.followup_status_set(followup=followup, status="resolved")
    followup.refresh_from_db()
    return followup


def link(message, answer="no"):
    match = re.search(rf"http://testserver(/r/[\w-]+/)\?answer={answer}", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def asked(mailoutbox, django_capture_on_commit_callbacks):
    """A resolved case whose customer was asked; returns (case, link path)."""
    followup = resolve(open_case(), django_capture_on_commit_callbacks)
    return followup, link(mailoutbox[-1])


def answer(client, path, value="no", comment=""):
    return client.post(path, {"answer": value, "comment": comment})


# --- Sending --------------------------------------------------------------------------


def test_it_asks_the_customer_in_their_language_when_resolved(asked, mailoutbox):
    followup, path = asked

    [message] = mailoutbox
    assert message.to == ["anna@example.se"]
    assert message.subject == "Lyckades vi lösa ”Refund not received”?"
    assert "Hej Anna!" in message.body
    assert f"http://testserver{path}?answer=yes" in message.body
    assert f'href="http://testserver{path}?answer=no"' in message.alternatives[0][0]
    assert followup.recovery_sent_at is not None
    assert followup.events.last().kind == FollowUpEvent.Kind.RECOVERY_SENT


def test_it_stores_only_the_hash_of_the_link_token(asked):
    followup, path = asked

    token = path.split("/")[2]
    assert token not in followup.recovery_token_hash
    assert len(followup.recovery_token_hash) == 64


def test_it_does_not_ask_again_when_the_case_is_resolved_again(
    asked, mailoutbox, django_capture_on_commit_callbacks
):
    followup, _path = asked
    followups.followup_status_set(followup=followup, status="contacted")

    resolve(followup, django_capture_on_commit_callbacks)

    assert len(mailoutbox) == 1


def test_it_task_run_twice_sends_one_email(mailoutbox):
    followup = open_case()
    followups.followup_status_set(followup=followup, status="resolved")

    assert (
        followups_tasks.recovery_send(followup.pk),
        followups_tasks.recovery_send(followup.pk),
    ) == (
        True,
        False,
    )
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("field", ["opted_out_at", "suppressed_at"])
def test_it_does_not_ask_customers_who_opted_out_or_bounce(
    field, mailoutbox, django_capture_on_commit_callbacks
):
    followup = open_case(**{field: timezone.now()})

    resolve(followup, django_capture_on_commit_callbacks)

    assert (mailoutbox, followup.recovery_sent_at) == ([], None)


def test_it_asks_nobody_when_the_policy_has_it_off(mailoutbox, django_capture_on_commit_callbacks):
    SurveyPolicy.objects.update_or_create(pk=1, defaults={"recovery_survey": False})

    followup = resolve(open_case(), django_capture_on_commit_callbacks)

    assert (mailoutbox, followup.recovery_sent_at) == ([], None)


def test_it_asks_when_the_api_resolves_the_case(
    api, mailoutbox, django_capture_on_commit_callbacks
):
    followup = open_case()

    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v1/followups/{followup.pk}", {"status": "resolved"}, format="json")

    assert [m.to for m in mailoutbox] == [["anna@example.se"]]


def test_it_sweep_sends_a_lost_send_once(mailoutbox, time_machine):
    followup = open_case()
    followups.followup_status_set(followup=followup, status="resolved")  # task never ran
    time_machine.move_to(timezone.now() + timedelta(minutes=1), tick=False)

    assert (followups_tasks.recovery_sweep(), followups_tasks.recovery_sweep()) == (1, 0)
    assert [m.to for m in mailoutbox] == [["anna@example.se"]]


def test_it_sweep_leaves_cases_resolved_long_ago(mailoutbox, time_machine):
    followup = open_case()
    followups.followup_status_set(followup=followup, status="resolved")
    time_machine.move_to(timezone.now() + timedelta(days=2), tick=False)

    assert followups_tasks.recovery_sweep() == 0
    assert mailoutbox == []


def test_it_releases_a_failed_send_for_the_sweep(settings, mailoutbox, time_machine):
    followup = open_case()
    followups.followup_status_set(followup=followup, status="resolved")
    settings.EMAIL_BACKEND = "tests.test_sending.TemporaryFailure"

    assert followups_tasks.recovery_send(followup.pk) is False
    followup.refresh_from_db()
    assert (followup.recovery_sent_at, followup.recovery_token_hash) == (None, "")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_machine.move_to(timezone.now() + timedelta(minutes=1), tick=False)
    assert followups_tasks.recovery_sweep() == 1
    assert len(mailoutbox) == 1


# --- The link page ----------------------------------------------------------------------


def test_it_link_preselects_the_answer_and_records_nothing(client, asked):
    followup, path = asked

    page = client.get(path + "?answer=no")

    assert page.status_code == 200
    assert 'value="no" checked' in page.content.decode()
    assert "Lyckades vi lösa det?" in page.content.decode()
    followup.refresh_from_db()
    assert (followup.outcome, followup.recovery_answered_at) == ("unknown", None)
    assert not followup.events.filter(kind=FollowUpEvent.Kind.RECOVERY_ANSWER).exists()


def test_it_answer_sets_the_outcome_and_goes_on_the_history(client, asked):
    followup, path = asked

    sent = answer(client, path, "no", comment="Still no refund")
    thanks = client.get(sent["Location"])

    followup.refresh_from_db()
    assert (sent.status_code, thanks.status_code) == (302, 200)
    assert followup.outcome == "not_recovered"
    assert followup.recovery_answered_at is not None
    event = followup.events.last()
    assert (event.kind, event.new, event.text) == (
        "recovery_answer",
        "not_recovered",
        "Still no refund",
    )


def test_it_answer_is_on_the_case_page(client, asked):
    followup, path = asked
    answer(client, path, "no", comment="Still no refund")
    client.force_login(followup.owner)

    page = client.get(f"/followups/{followup.pk}/").content.decode()

    assert "Not recovered" in page
    assert "The customer answered" in page
    assert "Answered " in page
    assert "Still no refund" in page


def test_it_answer_missing_is_an_error_that_keeps_the_comment(client, asked):
    followup, path = asked

    page = client.post(path, {"comment": "Still no refund"})

    text = page.content.decode()
    assert page.status_code == 400
    assert "Välj Ja eller Nej." in text
    assert "Still no refund</textarea>" in text
    followup.refresh_from_db()
    assert followup.outcome == "unknown"


def test_it_answer_with_unknown_value_is_an_error(client, asked):
    followup, path = asked

    page = answer(client, path, "maybe")

    assert page.status_code == 400
    followup.refresh_from_db()
    assert followup.recovery_answered_at is None


def test_it_comment_too_long_is_an_error_that_keeps_the_text(client, asked):
    followup, path = asked

    page = answer(client, path, "yes", comment="x" * 5001)

    assert page.status_code == 400
    assert "x" * 5001 + "</textarea>" in page.content.decode()
    followup.refresh_from_db()
    assert followup.outcome == "unknown"


def test_it_customer_may_change_the_answer_for_seven_days(client, asked, time_machine):
    followup, path = asked
    answer(client, path, "no")
    time_machine.move_to(timezone.now() + timedelta(days=6), tick=False)

    again = answer(client, path, "yes")

    followup.refresh_from_db()
    assert (again.status_code, followup.outcome) == (302, "recovered")


def test_it_answer_is_closed_after_seven_days(client, asked, time_machine):
    followup, path = asked
    answer(client, path, "no")
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1), tick=False)

    page = answer(client, path, "yes")

    followup.refresh_from_db()
    assert (page.status_code, followup.outcome) == (200, "not_recovered")
    assert "Du har redan svarat" in page.content.decode()


def test_it_link_expires_after_thirty_days(client, asked, time_machine):
    followup, path = asked
    time_machine.move_to(timezone.now() + timedelta(days=30, minutes=1), tick=False)

    shown, posted = client.get(path + "?answer=no"), answer(client, path, "no")

    assert (shown.status_code, posted.status_code) == (410, 410)
    followup.refresh_from_db()
    assert followup.outcome == "unknown"


@pytest.mark.parametrize("path", ["/r/unknown-token/", "/r/unknown-token/thanks/"])
def test_it_unknown_link_is_the_not_found_page(client, path):
    page = client.get(path)

    assert page.status_code == 404
    assert "We could not find this page" in page.content.decode()


def test_it_tampered_link_is_not_found(client, asked):
    _followup, path = asked

    assert client.get(path[:-2] + "x/").status_code == 404


def test_it_head_request_records_nothing(client, asked):
    followup, path = asked

    assert client.head(path + "?answer=yes").status_code == 200
    followup.refresh_from_db()
    assert followup.outcome == "unknown"


def test_it_language_switch_keeps_the_clicked_answer(client, asked):
    _followup, path = asked

    page = client.get(path + "?answer=no&lang=en").content.decode()

    assert "Did we sort it out?" in page
    assert f'href="{path}?answer=no&amp;lang=fi"' in page


def test_it_admin_may_still_set_the_outcome_by_hand(client, asked):
    followup, path = asked
    answer(client, path, "no")
    client.force_login(UserFactory(username="admin@support.example", is_staff=True))

    client.post(f"/followups/{followup.pk}/", {"status": "resolved", "outcome": "recovered"})

    followup.refresh_from_db()
    assert followup.outcome == "recovered"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_it_email_and_page_are_translated(
    lang, client, mailoutbox, django_capture_on_commit_callbacks
):
    resolve(open_case(locale=lang), django_capture_on_commit_callbacks)

    page = client.get(link(mailoutbox[-1]) + "?answer=yes").content.decode()

    english = ["Did we sort", "One question", "Yes", "Send my answer"]
    for text in (mailoutbox[-1].subject, mailoutbox[-1].body, page):
        assert [e for e in english if e in text] == []
    assert f'<html lang="{lang}">' in page


# --- The figures -----------------------------------------------------------------------


def test_it_report_recovery_rate_counts_customer_answers_only(client, asked):
    followup, path = asked
    answer(client, path, "no")
    admin = UserFactory(username="admin@support.example", is_staff=True)
    followups.followup_status_set(
        followup=followup, status="resolved", outcome="recovered", actor=admin
    )
    client.force_login(admin)

    total = client.get("/followups/report/").context["report"]["total"][0]

    assert (total["answered"], total["recovered"], total["recovery_rate"]) == (1, 0, 0)


def test_it_dashboard_shows_followup_figures_with_exact_counts(client, asked):
    followup, path = asked
    answer(client, path, "yes")
    opened = followup.created_at
    FollowUp.objects.filter(pk=followup.pk).update(
        first_contacted_at=opened + timedelta(hours=2), due_at=opened + timedelta(hours=8)
    )
    old = open_case(locale="en", email="bo@example.se")
    FollowUp.objects.filter(pk=old.pk).update(created_at=opened - timedelta(days=60))
    client.force_login(UserFactory(username="admin@support.example", is_staff=True))

    page = client.get("/reports/")

    figures = page.context["followup_figures"]
    assert (figures["opened"], figures["in_time_count"], figures["answered"]) == (1, 1, 1)
    assert figures["median_wait"] == timedelta(hours=2)
    text = page.content.decode()
    assert "1 of 1 answered" in text
    assert "2 h 00 min" in text
    assert "/followups/report/?from=" in text


def test_it_dashboard_figures_follow_the_team_filter(client, asked):
    followup, _path = asked
    client.force_login(UserFactory(username="admin@support.example", is_staff=True))

    other_team = TeamFactory(name="Sales")

    mine = client.get(f"/reports/?team={followup.survey.team_id}")
    other = client.get(f"/reports/?team={other_team.pk}")

    assert mine.context["followup_figures"]["opened"] == 1
    assert other.context["followup_figures"]["opened"] == 0


def test_it_report_takes_the_dashboard_dates(client, asked):
    followup, _path = asked
    client.force_login(UserFactory(username="admin@support.example", is_staff=True))
    day = timezone.localdate(followup.created_at)

    inside = client.get(f"/followups/report/?from={day}&to={day}")
    before = client.get(
        f"/followups/report/?from={day - timedelta(days=9)}&to={day - timedelta(days=1)}"
    )

    assert inside.context["report"]["total"][0]["opened"] == 1
    assert before.context["report"]["total"][0]["opened"] == 0


def test_it_report_with_bad_dates_says_so(client, asked):
    client.force_login(UserFactory(username="admin@support.example", is_staff=True))

    page = client.get("/followups/report/?from=2026-13-45")

    assert page.status_code == 200
    assert "The dates were not understood" in page.content.decode()


def test_it_sweep_is_in_the_beat_schedule():
    from config.celery import SWEEP_SECONDS, app

    entry = app.conf.beat_schedule["recovery-sweep"]

    assert (entry["task"], entry["schedule"]) == ("followups.tasks.recovery_sweep", SWEEP_SECONDS)


def test_it_admin_shows_when_the_case_was_asked(client, asked):
    followup, _path = asked
    client.force_login(
        UserFactory(username="admin@support.example", is_staff=True, is_superuser=True)
    )

    page = client.get(f"/admin/followups/followup/{followup.pk}/change/")

    assert page.status_code == 200
    assert followup.recovery_token_hash in page.content.decode()


@pytest.mark.parametrize(
    ("sent_days_ago", "answered_days_ago", "state"),
    [
        (29, None, "open"),
        (30, None, "expired"),
        (6, 6, "open"),
        (8, 7, "closed"),
        (31, 1, "expired"),
    ],
)
def test_it_link_state_follows_the_seven_and_thirty_days(sent_days_ago, answered_days_ago, state):
    now = timezone.now()
    answered = None if answered_days_ago is None else now - timedelta(days=answered_days_ago)

    found = recovery.recovery_link_state(
        sent_at=now - timedelta(days=sent_days_ago), answered_at=answered, now=now
    )

    assert found == state


def test_it_too_many_requests_get_the_friendly_page(client, asked, settings):
    _followup, path = asked
    settings.SURVEY_RATE_LIMIT = "1/m"

    client.get(path.rstrip("/") + "x/")  # unknown links count; the case's own never does
    page = client.get(path.rstrip("/") + "x/")

    assert client.get(path).status_code == 200
    assert page.status_code == 429
    assert page["Retry-After"] == "60"


def test_it_page_is_private_and_sets_no_cookie(client, asked):
    _followup, path = asked

    page = client.get(path + "?answer=yes")

    assert "no-store" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "no-referrer"
    assert page.cookies == {}


def test_it_admin_shows_a_case_and_sends_changes_to_its_page(client, asked):
    followup, _path = asked
    client.force_login(
        UserFactory(username="admin@support.example", is_staff=True, is_superuser=True)
    )

    page = client.get(f"/admin/followups/followup/{followup.pk}/change/")

    form = page.context["adminform"].form
    assert not {"status", "outcome", "owner"} & set(form.fields)
    assert "View on site" in page.content.decode()
    assert client.get("/admin/followups/followup/add/").status_code == 403
