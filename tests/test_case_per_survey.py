"""One follow-up case per answered survey: every low score of the survey on one case,
its owner emailed once, one followup.created event and one chat post; a changed
answer goes on the same case's history."""

from datetime import timedelta

import pytest

from followups.models import FollowUp
from integrations import outbound
from integrations.models import WebhookDelivery
from surveys import answering
from surveys.models import Invitation, Response, Survey
from tests.conftest import NOW

pytestmark = pytest.mark.django_db

AGENT = "lars@support.example"


@pytest.fixture
def answer(sent_survey, django_capture_on_commit_callbacks):
    """Send one survey; answer(scores, comment, hours) answers it then (all its work,
    the tasks included, runs as after commit)."""
    sent_survey()
    invitations = list(Invitation.objects.filter(survey=Survey.objects.get()))

    def make(scores, comment="", hours=3):
        with django_capture_on_commit_callbacks(execute=True):
            return answering.response_record(
                invitations=invitations,
                answers=scores,
                comment=comment,
                now=NOW + timedelta(hours=hours),
            )

    return make


def agent_mails(mailoutbox):
    return [m for m in mailoutbox if m.to == [AGENT]]


def test_low_on_every_question_is_one_case_one_email_one_event(answer, mailoutbox):
    outbound.subscription_create(url="https://hooks.example.com/k", events=["followup.created"])
    chat = outbound.subscription_create(
        url="https://hooks.slack.com/services/T/B/x",
        events=["response.created", "followup.created"],
        format="slack",
    )

    answer({"csat": 1, "ces": 1, "nps": 0}, comment="Nobody called back")

    [case] = FollowUp.objects.all()
    assert case.reason == "CSAT 1 of 5, CES 1 of 7, NPS 0"
    assert [a.raw_score for a in case.answers] == [1, 1, 0]
    [mail] = agent_mails(mailoutbox)
    assert "CSAT 1 of 5, CES 1 of 7, NPS 0" in mail.subject
    assert "Nobody called back" in mail.body
    standard = WebhookDelivery.objects.exclude(subscription=chat)
    assert list(standard.values_list("event_type", flat=True)) == ["followup.created"]
    # Slack: one post for the first low answer and one for the case, not one per question.
    posts = WebhookDelivery.objects.filter(subscription=chat)
    assert sorted(posts.values_list("event_type", flat=True)) == [
        "followup.created",
        "response.created",
    ]
    case_post = posts.get(event_type="followup.created").body
    assert "CSAT 1 of 5, CES 1 of 7, NPS 0" in case_post


def test_a_changed_answer_goes_on_the_same_cases_history(answer, mailoutbox):
    answer({"csat": 1, "ces": 2}, comment="Slow")

    answer({"csat": 5, "ces": 6}, comment="Sorted now", hours=5)

    [case] = FollowUp.objects.all()
    [change] = case.events.filter(kind="answer")
    assert (change.old, change.new) == ("CSAT 1 of 5, CES 2 of 7", "CSAT 5 of 5, CES 6 of 7")
    assert case.status == "new" and case.reason == "CSAT 1 of 5, CES 2 of 7"
    assert len(agent_mails(mailoutbox)) == 1


def test_a_change_from_high_to_low_opens_one_case(answer, mailoutbox):
    answer({"csat": 5, "ces": 6})
    assert FollowUp.objects.count() == 0

    answer({"csat": 2, "ces": 1}, hours=5)

    [case] = FollowUp.objects.all()
    assert case.reason == "CSAT 2 of 5, CES 1 of 7"
    assert list(case.events.values_list("kind", flat=True)) == ["opened"]
    assert len(agent_mails(mailoutbox)) == 1


def test_the_api_lists_the_case_with_every_score_of_its_survey(answer, api):
    answer({"csat": 4, "ces": 1, "nps": 9})

    [row] = api.get("/api/v1/followups?status=open").json()["results"]

    assert (row["kind"], row["score"]) == ("ces", 1)  # its first low answer
    assert row["scores"] == {"csat": 4, "ces": 1, "nps": 9}
    assert row["survey"] == Survey.objects.get().pk
    assert row["held"] is False


def test_the_dashboard_shows_held_answers_and_reviews_one_in_one_click(
    client, sent_survey, django_capture_on_commit_callbacks, admin_user
):
    _ticket, token = sent_survey()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/s/{token}/", {"csat": "1"})  # faster than a person: held
    client.force_login(admin_user)

    page = client.get("/reports/")

    assert page.context["held"]["count"] == 1
    assert b"1 answer held for review" in page.content
    survey = Survey.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        approved = client.post(f"/reports/held/{survey.pk}/approve/", {"next": "/reports/"})
    assert approved.status_code == 302 and approved["Location"] == "/reports/"
    assert Response.objects.counted().count() == 1
    assert client.get("/reports/").context["held"]["count"] == 0
