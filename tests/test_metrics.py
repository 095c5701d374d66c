import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Q, Sum

from metrics import rebuild, rollups
from metrics.check import rollups_differences
from metrics.funnel import FunnelStep
from metrics.models import InvitationRollup, ScoreRollup
from metrics.rollups import FUNNEL_COLUMNS, SCORE_COLUMNS
from surveys import answering
from surveys.api import ResponseSerializer
from surveys.models import Invitation, Survey
from tests.conftest import NOW, sent_invitation
from tests.factories import InvitationFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def respond(*, kind, score, day=0, agent=None, team=None, channel="email", scale=5):
    people = {"assignee": agent, "team": team}
    ticket = TicketFactory(channel=channel, **{k: v for k, v in people.items() if v})
    invitation = sent_invitation(ticket=ticket, kind=kind, scale_points=scale)
    [response] = answering.response_record(
        invitations=[invitation], answers={kind: score}, now=NOW + timedelta(days=day)
    )
    answering.response_process(response_id=response.pk)
    return response


def test_metrics_api_gives_exact_counts_per_agent(api):
    first = respond(kind="csat", score=5)
    respond(kind="csat", score=2, agent=first.invitation.survey.agent)
    respond(kind="csat", score=4)

    body = api.get(
        "/api/v1/metrics?metric=csat&from=2026-11-01&to=2026-11-30&group_by=agent"
    ).json()

    rows = {
        row["group"]: (row["answers"], row["satisfied"], row["score"]) for row in body["results"]
    }
    assert sorted(rows.values()) == [(1, 1, 100.0), (2, 1, 50.0)]


def test_metrics_api_nps_from_counts(api):
    for score, n in ((10, 8), (7, 2), (3, 4)):
        for _ in range(n):
            respond(kind="nps", score=score, scale=11)

    body = api.get("/api/v1/metrics?metric=nps&from=2026-11-01&to=2026-11-30").json()

    [row] = body["results"]
    assert (row["promoters"], row["passives"], row["detractors"]) == (8, 2, 4)
    assert row["score"] == pytest.approx(100 * 4 / 14)
    assert row["interval"][0] < row["score"] < row["interval"][1]
    assert row["too_few_to_compare"] is False  # 14 answers: 10 are enough (FEW_ANSWERS)


@pytest.mark.parametrize(("answers", "few"), [(9, True), (10, False)])
def test_metrics_api_marks_fewer_than_ten_answers_as_few(api, answers, few):
    for _ in range(answers):
        respond(kind="csat", score=4)

    body = api.get("/api/v1/metrics?metric=csat&from=2026-11-01&to=2026-11-30").json()

    assert body["results"][0]["too_few_to_compare"] is few


def test_metrics_api_response_rate(api):
    respond(kind="csat", score=5)
    InvitationFactory(state="sent", sent_at=NOW - timedelta(days=2))
    rebuild.rollups_rebuild()

    body = api.get("/api/v1/metrics?metric=response_rate&from=2026-11-01&to=2026-11-30").json()

    [row] = body["results"]
    assert (row["delivered"], row["answered"], row["score"]) == (2, 1, 50.0)


def test_metrics_api_groups_by_day(api):
    respond(kind="csat", score=5, day=0)
    respond(kind="csat", score=1, day=1)

    body = api.get("/api/v1/metrics?metric=csat&from=2026-11-01&to=2026-11-30&group_by=day").json()

    assert [(r["key"], r["answers"], r["satisfied"]) for r in body["results"]] == [
        ("2026-11-21", 1, 1),
        ("2026-11-22", 1, 0),
    ]


def test_metrics_api_rejects_bad_query(api):
    body = api.get("/api/v1/metrics?metric=happiness&from=2026-13-01").json()

    assert set(body) == {"metric", "from"}


def test_incremental_rollups_equal_nightly_rebuild(api):
    for day, score, channel in [(0, 5, "email"), (0, 1, "chat"), (1, 3, "email"), (2, 4, "phone")]:
        respond(kind="csat", score=score, day=day, channel=channel)
    respond(kind="ces", score=6, scale=7)
    incremental = sorted(
        ScoreRollup.objects.values_list("day", "kind", "channel", "score", "count")
    )

    rebuild.rollups_rebuild()

    rebuilt = sorted(ScoreRollup.objects.values_list("day", "kind", "channel", "score", "count"))
    assert incremental == rebuilt
    assert rollups_differences() == []


def test_changed_answer_moves_counts_without_double_counting():
    response = respond(kind="csat", score=1)
    answering.response_record(
        invitations=[response.invitation], answers={"csat": 5}, now=NOW + timedelta(hours=1)
    )

    answering.response_process(response_id=response.pk)

    assert list(ScoreRollup.objects.values_list("score", "count")) == [(5, 1)]


def test_check_command_reports_differences(capsys):
    respond(kind="csat", score=5)
    ScoreRollup.objects.update(count=7)

    from django.core.management import call_command

    with pytest.raises(SystemExit):
        call_command("rollups_check")

    assert "stored (7, 0), raw rows (1, 0)" in capsys.readouterr().out


def _rollup_rows():
    scores = sorted(ScoreRollup.objects.values_list(*SCORE_COLUMNS), key=str)
    steps = sorted(InvitationRollup.objects.values_list(*FUNNEL_COLUMNS), key=str)
    return scores, steps


def test_incremental_rollups_equal_rebuild_on_demo_data():
    call_command("demo_data", tickets=300, stdout=StringIO())
    ScoreRollup.objects.all().delete()
    InvitationRollup.objects.all().delete()

    for invitation in Invitation.objects.filter(survey__sent_at__isnull=False):
        rollups.rollups_refresh(survey=invitation.survey, invitation=invitation)

    incremental = _rollup_rows()
    rebuild.rollups_rebuild()
    assert incremental == _rollup_rows()
    assert incremental[0] != []
    assert rollups_differences() == []


def test_incremental_rollups_equal_rebuild_on_generated_history():
    rng = random.Random(4)
    agents = [UserFactory() for _ in range(3)]
    for n in range(60):
        kind, scale = rng.choice([("csat", 5), ("csat", 3), ("ces", 7), ("nps", 11)])
        low, high = (0, 10) if kind == "nps" else (1, scale)
        day = rng.randint(-1, 20)
        response = respond(
            kind=kind, score=rng.randint(low, high), day=day, scale=scale,
            agent=rng.choice(agents), channel=rng.choice(["email", "chat", "phone"]),
        )  # fmt: skip
        if n % 7 == 0:  # the customer changes their answer
            later = NOW + timedelta(days=day, hours=1)
            changed = answering.response_record(
                invitations=[response.invitation], answers={kind: high}, now=later
            )
            answering.response_process(response_id=changed[0].pk)
    incremental = _rollup_rows()

    rebuild.rollups_rebuild()

    assert incremental == _rollup_rows()
    assert call_command("rollups_check", stdout=StringIO()) is None


def test_check_command_reports_zero_differences(capsys):
    respond(kind="nps", score=9, scale=11)

    call_command("rollups_check")

    assert capsys.readouterr().out.strip() == "0 differences"


def test_metrics_api_filters_by_channel_and_team(api):
    email = respond(kind="csat", score=5, channel="email")
    respond(kind="csat", score=1, channel="chat")
    team = email.invitation.survey.team_id

    by_channel = api.get("/api/v1/metrics?metric=csat&from=2026-11-01&to=2026-11-30&channel=chat")
    by_team = api.get(f"/api/v1/metrics?metric=csat&from=2026-11-01&to=2026-11-30&team={team}")

    assert [(r["answers"], r["satisfied"]) for r in by_channel.json()["results"]] == [(1, 0)]
    assert [(r["answers"], r["satisfied"]) for r in by_team.json()["results"]] == [(1, 1)]


def test_metrics_api_gives_the_formula_of_each_score(api):
    respond(kind="csat", score=5)
    respond(kind="csat", score=2)

    body = api.get("/api/v1/metrics?metric=csat&from=2026-11-01&to=2026-11-30").json()

    assert body["results"][0]["formula"] == "50.0 % = 1 satisfied / 2 answers"


def test_responses_api_filters_by_kind_and_score(api):
    respond(kind="csat", score=5)
    respond(kind="csat", score=2)
    respond(kind="nps", score=9, scale=11)

    body = api.get("/api/v1/responses?kind=csat&max_score=3").json()

    assert [(r["kind"], r["raw_score"]) for r in body["results"]] == [("csat", 2)]
    assert body["count"] == 1


def test_responses_api_filters_by_agent_email_and_dates(api):
    first = respond(kind="csat", score=4, day=0)
    respond(kind="csat", score=3, day=5)
    email = first.invitation.survey.agent.email

    body = api.get(f"/api/v1/responses?agent={email}&from=2026-11-21&to=2026-11-21").json()

    assert [r["id"] for r in body["results"]] == [first.pk]
    assert body["results"][0]["agent"] == email


def test_responses_api_pages_with_limit_and_offset(api):
    made = [respond(kind="csat", score=s, day=s) for s in (1, 2, 3)]

    body = api.get("/api/v1/responses?limit=2&offset=1").json()

    assert [r["id"] for r in body["results"]] == [made[1].pk, made[2].pk]
    assert (body["count"], body["next"]) == (3, None)


def test_responses_api_shows_each_answer_as_its_webhook_does(api):
    with_people = respond(kind="csat", score=2)
    with_people.comment = "Slow"
    with_people.save()
    without = respond(kind="nps", score=9, scale=11)
    Survey.objects.filter(pk=without.invitation.survey_id).update(agent=None, team=None)
    without.refresh_from_db()

    body = api.get("/api/v1/responses").json()

    assert body["results"] == [dict(ResponseSerializer(r).data) for r in (with_people, without)]
    assert (body["results"][0]["comment"], body["results"][1]["agent"]) == ("Slow", None)


def test_responses_api_rejects_bad_filters(api):
    body = api.get("/api/v1/responses?kind=happiness&min_score=9&max_score=2").json()

    assert set(body) == {"kind"}


def _funnel():
    rows = InvitationRollup.objects.values_list("step").annotate(n=Sum("count"))
    return dict(rows.order_by("step"))


@pytest.mark.django_db(transaction=True)
def test_it_rebuilds_outside_a_transaction_and_then_refreshes_exactly():
    respond(kind="csat", score=5)
    sent = NOW - timedelta(days=2)
    InvitationFactory(state="sent", sent_at=sent, bounced_at=sent + timedelta(minutes=5))

    # The answered survey: sent, delivered, answered, completed (its form was sent);
    # the bounced one: sent.
    assert rebuild.rollups_rebuild() == (1, 5)
    respond(kind="nps", score=3, scale=11)  # refreshed into the rebuilt tables

    assert _funnel() == {"answered": 2, "completed": 2, "delivered": 2, "sent": 3}
    assert rollups_differences() == []


def test_it_counts_each_funnel_step_of_a_bucket_once():
    response = respond(kind="csat", score=2)
    answering.response_record(
        invitations=[response.invitation], answers={"csat": 4}, comment="Slow reply", now=NOW
    )
    answering.response_process(response_id=response.pk)

    rebuild.rollups_rebuild()

    assert _funnel() == {
        "answered": 1, "commented": 1, "completed": 1, "delivered": 1, "sent": 1,
    }  # fmt: skip


def test_it_rebuilds_twice_and_keeps_refreshing():
    respond(kind="ces", score=6, scale=7)
    rebuild.rollups_rebuild()
    rebuild.rollups_rebuild()

    respond(kind="ces", score=2, scale=7)

    assert sorted(ScoreRollup.objects.values_list("score", "count")) == [(2, 1), (6, 1)]
    assert rollups_differences() == []


def test_it_refresh_is_undone_with_the_callers_transaction():
    response = respond(kind="csat", score=5)
    ScoreRollup.objects.all().delete()

    with pytest.raises(RuntimeError), transaction.atomic():
        rollups.rollups_refresh(survey=response.invitation.survey, invitation=response.invitation)
        raise RuntimeError("the caller fails after the refresh")

    assert ScoreRollup.objects.count() == 0


def test_it_refresh_of_an_unsent_invitation_writes_nothing():
    invitation = InvitationFactory()

    rollups.rollups_refresh(survey=invitation.survey, invitation=invitation)

    assert (ScoreRollup.objects.count(), InvitationRollup.objects.count()) == (0, 0)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (synchronous_commit is a PostgreSQL setting); CI runs it there",
)
def test_it_refresh_inside_a_transaction_keeps_its_commit_durable():
    response = respond(kind="csat", score=4)

    with transaction.atomic(), connection.cursor() as cursor:
        rollups.rollups_refresh(survey=response.invitation.survey, invitation=response.invitation)
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)


def _drift_rollups():
    """One changed count, one missing row, one extra bucket, one bucket stored twice."""
    changed, doubled = ScoreRollup.objects.order_by("pk")[:2]
    ScoreRollup.objects.filter(pk=changed.pk).update(count=changed.count + 5)
    InvitationRollup.objects.filter(step="sent").order_by("pk").first().delete()
    ScoreRollup.objects.create(
        day=NOW.date(), kind="ces", channel="fax", category="", scale_points=7, score=1, count=3
    )
    doubled.pk = None
    doubled.save()


def _history():
    first = respond(kind="csat", score=5)
    invitation = first.invitation
    respond(
        kind="csat", score=5, agent=invitation.survey.agent, team=invitation.survey.team
    )  # a bucket of two
    respond(kind="csat", score=2, channel="chat", day=1)
    respond(kind="nps", score=9, scale=11)
    InvitationFactory(state="sent", sent_at=NOW - timedelta(days=2), agent=None, team=None)
    rebuild.rollups_rebuild()
    return _rollup_rows()


def test_it_rebuild_repairs_changed_missing_extra_and_doubled_rows():
    in_step = _history()
    _drift_rollups()
    assert len(rollups_differences()) == 4

    rebuild.rollups_rebuild()

    assert _rollup_rows() == in_step
    assert rollups_differences() == []


@pytest.mark.django_db(transaction=True)
def test_it_rebuild_outside_a_transaction_repairs_the_same_drift():
    in_step = _history()
    _drift_rollups()

    assert rebuild.rollups_rebuild() == (len(in_step[0]), len(in_step[1]))

    assert _rollup_rows() == in_step
    assert rollups_differences() == []


def test_it_check_command_reports_a_bucket_stored_twice(capsys):
    respond(kind="csat", score=4)
    row = ScoreRollup.objects.get()
    row.pk = None
    row.save()

    with pytest.raises(SystemExit):
        call_command("rollups_check")

    assert "stored more than once" in capsys.readouterr().out


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (SQLite empties and refills the tables instead); CI runs it there",
)


@postgresql_only
def test_it_rebuild_writes_only_the_rows_that_differ():
    in_step = _history()
    _drift_rollups()

    scores, funnel = rebuild.rollups_reconcile()

    # The changed count and the extra bucket deleted, the changed count and the
    # missing row inserted, one of the doubled rows deleted.
    assert (scores.deleted, scores.inserted, funnel.deleted, funnel.inserted) == (3, 1, 0, 1)
    assert (scores.rows, funnel.rows) == (len(in_step[0]), len(in_step[1]))
    assert not scores.from_empty
    assert _rollup_rows() == in_step


@postgresql_only
def test_it_rebuild_of_tables_in_step_writes_nothing():
    _history()

    scores, funnel = rebuild.rollups_reconcile()

    assert (scores.deleted, scores.inserted, funnel.deleted, funnel.inserted) == (0, 0, 0, 0)


@postgresql_only
def test_it_rebuild_fills_an_empty_table_in_bulk():
    in_step = _history()
    ScoreRollup.objects.all().delete()

    scores, funnel = rebuild.rollups_reconcile()

    assert (scores.from_empty, funnel.from_empty) == (True, False)
    assert _rollup_rows() == in_step


@postgresql_only
def test_it_rebuild_of_tables_in_step_matches_no_day_row_by_row():
    _history()

    scores, funnel = rebuild.rollups_reconcile()

    assert (scores.days_matched, funnel.days_matched) == (0, 0)


@postgresql_only
def test_it_rebuild_finds_a_bucket_moved_within_a_day_by_its_hash():
    in_step = _history()
    moved = ScoreRollup.objects.get(kind="csat", score=5, count=2)  # same rows and counts
    ScoreRollup.objects.filter(pk=moved.pk).update(score=4)

    scores, funnel = rebuild.rollups_reconcile()

    assert (scores.days_matched, scores.deleted, scores.inserted) == (1, 1, 1)
    assert funnel.days_matched == 0
    assert _rollup_rows() == in_step


@postgresql_only
def test_it_rebuild_finds_a_count_moved_between_funnel_steps():
    in_step = _history()
    sent = InvitationRollup.objects.filter(step="sent").order_by("pk").first()
    InvitationRollup.objects.filter(pk=sent.pk).update(step="clicked")

    scores, funnel = rebuild.rollups_reconcile()

    assert (scores.days_matched, funnel.days_matched, funnel.inserted) == (0, 1, 1)
    assert _rollup_rows() == in_step


@postgresql_only
def test_it_rebuild_deletes_a_stored_row_without_a_count():
    in_step = _history()
    ScoreRollup.objects.create(
        day=NOW.date(), kind="csat", channel="fax", category="", scale_points=5, score=3, count=0
    )

    scores, _funnel = rebuild.rollups_reconcile()

    assert (scores.days_matched, scores.deleted) == (1, 1)
    assert _rollup_rows() == in_step


@postgresql_only
def test_it_rebuild_refuses_a_funnel_step_that_needs_a_join(monkeypatch):
    _history()
    joined = (FunnelStep("held", "Held", Q(invitations__response__held=True)),)
    monkeypatch.setattr(rebuild, "FUNNEL_STEPS", joined)

    with pytest.raises(RuntimeError, match="own columns only"):
        rebuild.rollups_reconcile()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (SQLite lets one writer in at a time); CI runs it there",
)
@pytest.mark.django_db(transaction=True)
def test_it_two_refreshes_of_one_bucket_at_once_store_it_once():
    first = respond(kind="csat", score=5)
    agent, team = first.invitation.survey.agent, first.invitation.survey.team
    second = respond(kind="csat", score=4, agent=agent, team=team)
    a_in_transaction, b_started = threading.Event(), threading.Event()

    def refresh_and_hold():  # holds its new rows uncommitted while the other starts
        try:
            with transaction.atomic():
                invitation = Invitation.objects.select_related("survey").get(pk=first.invitation_id)
                rollups.rollups_refresh(survey=invitation.survey, invitation=invitation)
                a_in_transaction.set()
                b_started.wait(5)
                time.sleep(0.5)
        finally:
            connection.close()

    def refresh():
        try:
            a_in_transaction.wait(5)
            b_started.set()
            invitation = Invitation.objects.select_related("survey").get(pk=second.invitation_id)
            rollups.rollups_refresh(survey=invitation.survey, invitation=invitation)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(refresh_and_hold), pool.submit(refresh)]
    [future.result() for future in futures]

    assert rollups_differences() == []
    assert ScoreRollup.objects.filter(agent=agent).aggregate(n=Sum("count")) == {"n": 2}


@postgresql_only
def test_it_rebuild_counts_and_clears_a_row_without_a_count_beside_a_doubled_one():
    in_step = _history()
    doubled = ScoreRollup.objects.get(kind="csat", score=5, count=2)
    doubled.pk = None
    doubled.save()
    ScoreRollup.objects.create(
        day=doubled.day, kind="ces", channel="fax", category="", scale_points=7, score=1, count=0
    )

    scores, _funnel = rebuild.rollups_reconcile()

    assert (scores.deleted, scores.inserted) == (2, 0)
    assert scores.rows == ScoreRollup.objects.count() == len(in_step[0])
    assert _rollup_rows() == in_step


def _split_bucket():
    """Store the bucket of two answers as two rows of one: the day's sums stay."""
    split = ScoreRollup.objects.get(kind="csat", score=5, count=2)
    ScoreRollup.objects.filter(pk=split.pk).update(count=1)
    split.pk, split.count = None, 1
    split.save()


@postgresql_only
def test_it_exact_rebuild_repairs_a_bucket_split_in_two_that_the_day_sums_miss():
    in_step = _history()
    _split_bucket()

    nightly, _funnel = rebuild.rollups_reconcile()
    found = rollups_differences()
    exact, _funnel = rebuild.rollups_reconcile(exact=True)

    assert nightly.days_matched == 0  # the day's sums are those of one row of two
    assert any("stored more than once" in line for line in found)
    assert (exact.deleted, exact.inserted) == (2, 1)
    assert _rollup_rows() == in_step


def test_it_rebuild_command_compares_every_bucket():
    in_step = _history()
    _split_bucket()

    call_command("rollups_rebuild", stdout=StringIO())

    assert _rollup_rows() == in_step
