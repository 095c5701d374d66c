"""The copies each rollup is read from: an answer's copy of its invitation's
dimensions, an invitation's copy of whether its answer counts and has a comment."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from metrics import rebuild, reports
from metrics.check import rollups_differences
from metrics.models import ScoreRollup
from metrics.selectors import ReportFilters
from surveys import answering, copies
from surveys.models import Response, Survey
from tests.conftest import NOW, sent_invitation
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SENT = NOW - timedelta(days=2)


def answer(invitation, score=4, comment="", **kwargs):
    [response] = answering.response_record(
        invitations=[invitation],
        answers={invitation.kind: score},
        comment=comment,
        now=NOW,
        **kwargs,
    )
    return response


def copies_of(invitation):
    invitation.refresh_from_db()
    return invitation.survey.answer_counted, invitation.survey.answer_commented


def funnel_steps():
    rebuild.rollups_rebuild()
    filters = ReportFilters(start=SENT.date(), end=NOW.date())
    return {row.name: row.count for row in reports.funnel(filters)}


def test_an_answer_keeps_its_invitations_dimensions():
    invitation = sent_invitation(kind="ces", scale_points=7, channel="chat", category="Returns")

    response = answer(invitation, score=6)

    fields = Response.INVITATION_COPIES
    assert [getattr(response, f) for f in fields] == [getattr(invitation, f) for f in fields]
    assert response.kind == "ces" and response.channel == "chat"


def test_an_answer_with_a_comment_is_counted_and_commented_on_its_invitation():
    invitation = sent_invitation()

    answer(invitation, comment="Quick and kind")

    assert copies_of(invitation) == (True, True)


def test_a_held_answer_is_not_counted_until_released():
    invitation = sent_invitation()
    response = answer(invitation, comment="Fast", held_reason="answered too soon")
    assert copies_of(invitation) == (False, False)

    answering.responses_release(response_ids=[response.pk], now=NOW)

    assert copies_of(invitation) == (True, True)


def test_removing_the_comment_in_the_edit_window_clears_commented():
    invitation = sent_invitation()
    answer(invitation, comment="Slow")

    answer(invitation, score=5, comment="")

    assert copies_of(invitation) == (True, False)


def test_a_discarded_answer_leaves_the_funnel():
    invitation = sent_invitation()
    response = answer(invitation, comment="bot text", held_reason="no form token")
    answering.responses_release(response_ids=[response.pk], now=NOW)
    assert funnel_steps()["answered"] == 1

    answering.responses_delete(response_ids=[response.pk], now=NOW)

    assert copies_of(invitation) == (False, False)
    assert funnel_steps()["answered"] == 0
    assert Survey.objects.get(pk=invitation.survey_id).state == Survey.State.SENT


def test_deleting_an_answer_in_the_admin_keeps_the_invitations_copies(
    admin_client, django_capture_on_commit_callbacks
):
    invitation = sent_invitation()
    response = answer(invitation, comment="Test answer")
    rebuild.rollups_rebuild()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/surveys/response/",
            {"action": "delete_selected", "_selected_action": [response.pk], "post": "yes"},
        )

    assert not Response.objects.filter(pk=response.pk).exists()
    assert copies_of(invitation) == (False, False)
    assert rollups_differences() == []


def test_the_admin_does_not_let_a_surveys_credit_be_changed(admin_client):
    invitation = sent_invitation()

    page = admin_client.get(f"/admin/surveys/survey/{invitation.survey_id}/change/")

    form = page.context["adminform"].form
    assert not {"agent", "team", "channel", "category", "link_key"} & set(form.fields)
    [questions, _clicks] = page.context["inline_admin_formsets"]
    assert not {"kind", "scale_points", "inverted"} & set(questions.formset.forms[0].fields)


def test_a_deleted_agent_and_team_leave_the_copies_in_step():
    agent, team = UserFactory(), TeamFactory()
    answer(sent_invitation(agent=agent, team=team))

    agent.delete()
    team.delete()

    assert Response.objects.get().agent_id is None
    assert not copies.responses_copies_stale().exists()


def test_the_check_reports_stale_copies_and_the_rebuild_repairs_them():
    invitation = sent_invitation(channel="email")
    response = answer(invitation, comment="Fine")
    answering.response_process(response_id=response.pk)
    Response.objects.filter(pk=response.pk).update(channel="phone")
    Survey.objects.filter(pk=invitation.survey_id).update(answer_commented=False)

    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("rollups_check", stdout=out)
    report = out.getvalue()
    call_command("rollups_rebuild", "--copies", stdout=StringIO())

    assert f"copies: answer {response.pk}: dimensions differ" in report
    assert f"copies: survey {invitation.survey_id}: copies of its answers" in report
    assert "rollups_rebuild --copies" in report
    assert rollups_differences() == []
    assert Response.objects.get().channel == "email"


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_the_answers_there_are():
    invitation = sent_invitation(kind="nps", scale_points=11, channel="web", category="Billing")
    held = sent_invitation()
    answer(invitation, score=9, comment="Good")
    answer(held, held_reason="answered too soon")
    executor = MigrationExecutor(connection)
    executor.migrate([("surveys", "0005_provider_events_chat_helpdesks")])

    executor.loader.build_graph()
    executor.migrate([("surveys", "0006_answer_copies")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the apps built on it, too

    response = Response.objects.get(invitation=invitation)
    assert (response.kind, response.scale_points, response.channel) == ("nps", 11, "web")
    # Categories are stored by their folded key since surveys 0018.
    assert (response.agent_id, response.category) == (invitation.survey.agent_id, "billing")
    assert copies_of(invitation) == (True, True)
    assert copies_of(held) == (False, False)


def test_a_deleted_answer_leaves_its_score_bucket(django_capture_on_commit_callbacks):
    response = answer(sent_invitation(), score=2)
    rebuild.rollups_rebuild()
    assert ScoreRollup.objects.get().count == 1

    with django_capture_on_commit_callbacks(execute=True):
        answering.responses_delete(response_ids=[response.pk], now=NOW)

    assert not ScoreRollup.objects.exists()
    assert rollups_differences() == []


def test_deleting_one_answer_keeps_its_invitations_copies():
    invitation = sent_invitation()
    response = answer(invitation, comment="Fine")

    response.delete()

    assert copies_of(invitation) == (False, False)
