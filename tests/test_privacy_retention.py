"""The retention policy: each period passed removes what it names, in batches of at most
1,000 rows per transaction and nothing else, and the reports keep every figure, also
after the nightly rollup rebuild."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followups.models import FollowUpEvent
from integrations.models import InboundDelivery
from metrics.check import rollups_differences
from metrics.rebuild import rollups_rebuild
from privacy import tasks
from privacy.models import AuditEvent, RetentionPolicy
from privacy.retention import retention_apply
from surveys.models import Customer, LinkClick, OutboxMessage, Response, ResponseRevision, Ticket
from tests.conftest import NOW
from tests.test_privacy_access import unhappy
from tests.test_privacy_erasure import _figures

pytestmark = pytest.mark.django_db


def policy(**fields):
    RetentionPolicy.objects.all().delete()
    return RetentionPolicy.objects.create(
        **{
            "clicks_days": None,
            "payloads_days": None,
            "comments_months": None,
            "tickets_years": None,
            **fields,
        }
    )


def test_clicks_go_after_their_days_in_batches_of_at_most_1000(sent_survey):
    ticket, _token = sent_survey()
    survey = ticket.surveys.get()
    old = [LinkClick(survey=survey, link="rating", method="GET", at=NOW) for _ in range(2500)]
    LinkClick.objects.bulk_create(old)
    LinkClick.objects.create(
        survey=survey, link="rating", method="GET", at=NOW + timedelta(days=80)
    )
    policy(clicks_days=90)

    with CaptureQueriesContext(connection) as queries:
        counts = retention_apply(now=NOW + timedelta(days=100))

    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "surveys_linkclick"')]
    assert counts == {"link clicks": 2500}
    assert LinkClick.objects.count() == 1
    assert len(deletes) == 3
    assert [sql.count(",") + 1 for sql in deletes] == [1000, 1000, 500]  # ids per transaction


def test_each_period_removes_only_what_it_names(client, sent_survey, time_machine, api):
    ticket = unhappy(client, sent_survey, time_machine, email="anna@kund.example", comment="Trasig")
    OutboxMessage.objects.create(to="x@kund.example", subject="s", text="t")
    InboundDelivery.objects.create(
        provider="zendesk", ticket_id="1", solved_at=NOW, body="{}", processed_at=NOW
    )
    policy(clicks_days=90, payloads_days=30, comments_months=12, tickets_years=3)
    before = _figures(api)

    time_machine.move_to(NOW + timedelta(days=40), tick=False)
    after_payloads = retention_apply()
    time_machine.move_to(NOW + timedelta(days=100), tick=False)
    after_clicks = retention_apply()
    time_machine.move_to(NOW + timedelta(days=370), tick=False)
    after_comments = retention_apply()
    time_machine.move_to(NOW + timedelta(days=3 * 366), tick=False)
    after_tickets = retention_apply()

    assert set(after_payloads) == {"outbox messages", "helpdesk payloads"}
    assert set(after_clicks) == {"link clicks"}
    assert set(after_comments) == {"comments", "case notes and emails"}
    assert set(after_tickets) == {"tickets", "customers"}
    assert Response.objects.exclude(comment="").count() == 0
    assert ResponseRevision.objects.exclude(comment="").count() == 0
    assert FollowUpEvent.objects.exclude(text="").count() == 0
    assert Ticket.objects.get(pk=ticket.pk).subject == ""
    assert Customer.objects.get().email.endswith("@erased.invalid")
    assert _figures(api) == before
    assert rollups_differences() == []
    rollups_rebuild()
    assert _figures(api) == before


def test_nothing_is_removed_before_its_time_or_when_a_period_is_off(
    client, sent_survey, time_machine
):
    unhappy(client, sent_survey, time_machine, email="anna@kund.example", comment="Trasig")
    policy(clicks_days=90)

    counts = retention_apply(now=NOW + timedelta(days=89))
    later = retention_apply(now=NOW + timedelta(days=5000))

    assert counts == {}
    assert set(later) == {"link clicks"}
    assert Response.objects.filter(comment="Trasig").count() == 1


def test_the_nightly_job_twice_removes_once_and_audits_once(sent_survey, time_machine):
    ticket, _token = sent_survey()
    LinkClick.objects.create(survey=ticket.surveys.get(), link="rating", method="GET", at=NOW)
    policy(clicks_days=1)
    time_machine.move_to(NOW + timedelta(days=2), tick=False)

    first, second = tasks.retention_nightly(), tasks.retention_nightly()

    assert (first, second) == ({"link clicks": 1}, {})
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.detail) == (
        "retention_applied",
        "system",
        {"link clicks": 1},
    )


def test_the_default_policy_keeps_clicks_90_days_and_payloads_30_and_the_rest():
    default = RetentionPolicy.load()

    assert (default.clicks_days, default.payloads_days) == (90, 30)
    assert (default.comments_months, default.tickets_years) == (None, None)
