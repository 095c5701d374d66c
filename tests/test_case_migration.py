"""The migration to one follow-up case per answered survey (followups 0002-0004): the
cases opened for the questions of one survey merge into one, and nothing is lost.
Built with the models as they were."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from followups.models import FollowUp, FollowUpEvent
from tests.conftest import NOW

# Transactional: SQLite alters tables only outside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("followups", "0001_initial"), ("surveys", "0011_verbose_names")]


def _old_cases(apps):
    """Two surveys: one answered low on three questions with a case for each (worked
    on to different points), one with a single case."""
    get = apps.get_model
    customer = get("surveys", "Customer").objects.create(email="eva@example.se")
    made = {}
    for name, scores in (("unhappy", {"csat": 1, "ces": 2, "nps": 0}), ("single", {"csat": 2})):
        ticket = get("surveys", "Ticket").objects.create(
            source="zendesk",
            external_id=name,
            status="solved",
            requester=customer,
            created_at=NOW - timedelta(days=2),
        )
        survey = get("surveys", "Survey").objects.create(
            ticket=ticket,
            customer=customer,
            state="answered",
            send_after=NOW - timedelta(days=1),
            sent_at=NOW - timedelta(days=1),
            link_key=f"key-{name}",
        )
        for kind, score in scores.items():
            points = {"csat": 5, "ces": 7, "nps": 11}[kind]
            question = get("surveys", "Invitation").objects.create(
                survey=survey, kind=kind, scale_points=points
            )
            get("surveys", "Response").objects.create(
                invitation=question,
                raw_score=score,
                score=score,
                kind=kind,
                scale_points=points,
                answered_at=NOW - timedelta(hours=20),
            )
            made[(name, kind)] = question
    FollowUp, Event = get("followups", "FollowUp"), get("followups", "FollowUpEvent")
    cases = {}
    for kind, status, opened, extra in (
        ("ces", "contacted", NOW - timedelta(hours=19), {"first_contacted_at": NOW}),
        ("csat", "new", NOW - timedelta(hours=18), {"escalated_at": NOW}),
        (
            "nps",
            "resolved",
            NOW - timedelta(hours=17),
            {"recovery_sent_at": NOW, "recovery_token_hash": "h" * 64, "outcome": "recovered"},
        ),
    ):
        case = FollowUp.objects.create(
            invitation=made[("unhappy", kind)],
            status=status,
            reason=f"{kind.upper()} low",
            created_at=opened,
            updated_at=opened,
            due_at=opened + timedelta(hours=8),
            **extra,
        )
        Event.objects.create(followup=case, kind="opened", at=opened)
        cases[kind] = case
    single = FollowUp.objects.create(invitation=made[("single", "csat")], reason="CSAT 2")
    Event.objects.create(followup=single, kind="opened", at=NOW)
    return cases, single


def test_the_cases_of_one_survey_merge_into_one_and_nothing_is_lost():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    cases, single = _old_cases(executor.loader.project_state(BEFORE).apps)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert FollowUp.objects.count() == 2
    merged = FollowUp.objects.get(survey__ticket__external_id="unhappy")
    earliest = cases["ces"]
    assert merged.pk == earliest.pk
    assert merged.created_at == earliest.created_at
    assert merged.due_at == earliest.due_at
    assert merged.status == "resolved"  # the most advanced
    assert merged.outcome == "recovered"
    assert (merged.first_contacted_at, merged.escalated_at, merged.recovery_sent_at) == (
        NOW,
        NOW,
        NOW,
    )
    assert merged.recovery_token_hash == "h" * 64
    assert merged.reason == "CES low, CSAT low, NPS low"
    assert merged.answers_seen == "CSAT 1 of 5, CES 2 of 7, NPS 0"
    assert FollowUpEvent.objects.filter(followup=merged).count() == 3
    kept = FollowUp.objects.get(survey__ticket__external_id="single")
    assert (kept.pk, kept.reason, kept.events.count()) == (single.pk, "CSAT 2", 1)
