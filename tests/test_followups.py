import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction

from followups import services as metrics_followups
from followups.models import FollowUp
from surveys import answering
from surveys import tasks as surveys_tasks
from surveys.models import Invitation, Response, Survey
from tests.conftest import NOW
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def answer(sent_survey):
    def make(scores, comment="", **overrides):
        ticket, _token = sent_survey(**overrides)
        invitations = list(Invitation.objects.filter(survey__ticket=ticket).all())
        return answering.response_record(
            invitations=invitations, answers=scores, comment=comment, now=NOW + timedelta(hours=3)
        )

    return make


def test_low_csat_opens_one_case_for_the_agent(answer, mailoutbox):
    [response] = answer({"csat": 2}, comment="Nobody called back")

    surveys_tasks.response_process(response.pk)
    surveys_tasks.response_process(response.pk)

    followup = FollowUp.objects.get()
    assert followup.owner.email == "lars@support.example"
    assert followup.reason == "CSAT 2 of 5"
    agent_mails = [m for m in mailoutbox if m.to == ["lars@support.example"]]
    assert len(agent_mails) == 1
    assert f"http://testserver/followups/{followup.pk}/" in agent_mails[0].body


def test_good_scores_open_no_case(answer):
    responses = answer({"csat": 4, "ces": 5, "nps": 7})

    for response in responses:
        surveys_tasks.response_process(response.pk)

    assert FollowUp.objects.count() == 0


@pytest.mark.parametrize(("kind", "score"), [("ces", 3), ("nps", 6)])
def test_low_ces_or_nps_opens_case(answer, kind, score):
    responses = answer({"csat": 5, kind: score})

    for response in responses:
        surveys_tasks.response_process(response.pk)

    [case] = FollowUp.objects.all()
    assert case.reason.startswith(kind.upper())


def test_case_goes_to_team_lead_when_agent_left(answer):
    [response] = answer({"csat": 1})
    lead = UserFactory(email="lead@support.example")
    invitation = response.invitation
    invitation.survey.team.lead = lead
    invitation.survey.team.save()
    invitation.survey.agent.is_active = False
    invitation.survey.agent.save()

    surveys_tasks.response_process(response.pk)

    assert FollowUp.objects.get().owner == lead


def test_sweep_processes_answers_whose_task_was_lost(answer, time_machine, mailoutbox):
    answer({"csat": 1})
    time_machine.move_to(NOW + timedelta(hours=4), tick=False)

    assert surveys_tasks.responses_sweep() == 1
    assert surveys_tasks.responses_sweep() == 0

    assert FollowUp.objects.count() == 1
    assert Response.objects.get().processed_at is not None
    assert sum(m.to == ["lars@support.example"] for m in mailoutbox) == 1


def test_followups_api_lists_open_cases(answer, api):
    [response] = answer({"csat": 1})
    surveys_tasks.response_process(response.pk)

    listing = api.get("/api/v1/followups?status=open").json()["results"]

    assert [(f["ticket"], f["score"], f["owner"], f["status"]) for f in listing] == [
        ("48213", 1, "lars@support.example", "new")
    ]


def test_followups_api_rejects_unknown_status(api):
    response = api.get("/api/v1/followups?status=bogus")

    assert response.status_code == 400
    assert "Choose one of" in response.json()["status"][0]


def test_followup_page_for_owner_other_agent_and_anonymous(answer, client):
    [response] = answer({"csat": 1}, comment="Still waiting")
    surveys_tasks.response_process(response.pk)
    followup = FollowUp.objects.get()
    url = f"/followups/{followup.pk}/"

    assert client.get(url).status_code == 302
    client.force_login(UserFactory(email="other@support.example"))
    assert client.get(url).status_code == 404
    client.force_login(followup.owner)
    page = client.get(url)
    assert page.status_code == 200
    assert b"Still waiting" in page.content


def test_owner_marks_case_contacted(answer, client):
    [response] = answer({"csat": 1})
    surveys_tasks.response_process(response.pk)
    followup = FollowUp.objects.get()
    client.force_login(followup.owner)

    client.post(f"/followups/{followup.pk}/", {"status": "contacted"})

    assert FollowUp.objects.get().status == "contacted"
    assert metrics_followups.followups_open(status="open").count() == 1


def test_survey_state_answered_after_response(answer):
    answer({"csat": 4})

    assert Survey.objects.get().state == "answered"


def test_home_sends_admins_to_reports_and_agents_to_inbox(client):
    client.force_login(UserFactory(email="boss@support.example", is_staff=True))
    assert client.get("/")["Location"] == "/reports/"

    client.force_login(UserFactory(email="agent@support.example"))
    assert client.get("/")["Location"] == "/followups/"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (SQLite lets one writer in at a time); CI runs it there",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_notifying_at_once_send_one_email(answer, mailoutbox):
    """Two answers of one survey processed at once by two workers: the second's claim
    waits on the first's row lock and then must see it taken."""
    answer({"csat": 1})  # processed at once: the case opens and its owner is emailed
    case = FollowUp.objects.get()
    FollowUp.objects.filter(pk=case.pk).update(owner_notified_at=None)  # as if not yet
    mailoutbox.clear()
    first_claimed = threading.Event()

    def first() -> bool:
        with transaction.atomic():
            sent = metrics_followups.followup_notify(followup_id=case.pk, now=NOW)
            first_claimed.set()
            time.sleep(0.5)  # the second claim runs now, and waits for this commit
        connection.close()
        return sent

    def second() -> bool:
        first_claimed.wait(5)
        sent = metrics_followups.followup_notify(followup_id=case.pk, now=NOW)
        connection.close()
        return sent

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [pool.submit(first), pool.submit(second)]

    assert sorted(r.result() for r in results) == [False, True]
    assert [m.to for m in mailoutbox] == [["lars@support.example"]]
