from datetime import timedelta

import pytest

from metrics import services as metrics_services
from metrics.models import ScoreRollup
from surveys import services
from tests.conftest import NOW
from tests.factories import InvitationFactory, TicketFactory

pytestmark = pytest.mark.django_db


def respond(*, kind, score, day=0, agent=None, channel="email", scale=5):
    ticket = TicketFactory(channel=channel, **({"assignee": agent} if agent else {}))
    sent = NOW - timedelta(days=2)
    invitation = InvitationFactory(
        ticket=ticket,
        kind=kind,
        state="sent",
        sent_at=sent,
        expires_at=sent + timedelta(days=30),
        scale_points=scale,
    )
    [response] = services.response_record(
        invitations=[invitation], answers={kind: score}, now=NOW + timedelta(days=day)
    )
    metrics_services.response_process(response_id=response.pk)
    return response


def test_metrics_api_gives_exact_counts_per_agent(api):
    first = respond(kind="csat", score=5)
    respond(kind="csat", score=2, agent=first.invitation.agent)
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
    assert row["too_few_to_compare"] is True


def test_metrics_api_response_rate(api):
    respond(kind="csat", score=5)
    InvitationFactory(state="sent", sent_at=NOW - timedelta(days=2))
    metrics_services.rollups_rebuild()

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

    metrics_services.rollups_rebuild()

    rebuilt = sorted(ScoreRollup.objects.values_list("day", "kind", "channel", "score", "count"))
    assert incremental == rebuilt
    assert metrics_services.rollups_differences() == []


def test_changed_answer_moves_counts_without_double_counting():
    response = respond(kind="csat", score=1)
    services.response_record(
        invitations=[response.invitation], answers={"csat": 5}, now=NOW + timedelta(hours=1)
    )

    metrics_services.response_process(response_id=response.pk)

    assert list(ScoreRollup.objects.values_list("score", "count")) == [(5, 1)]


def test_check_command_reports_differences(capsys):
    respond(kind="csat", score=5)
    ScoreRollup.objects.update(count=7)

    from django.core.management import call_command

    with pytest.raises(SystemExit):
        call_command("rollups_check")

    assert "stored (7, 0), raw rows (1, 0)" in capsys.readouterr().out
