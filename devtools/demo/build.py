"""One whole demo: simulated in memory first, then written in bulk."""

from __future__ import annotations

from dataclasses import dataclass

from followups.models import FollowUp
from metrics.rebuild import rollups_rebuild
from surveys.models import Survey

from .answers import responses_write
from .cases import followups_write
from .cast import customers_invent, customers_write, staff_upsert
from .invitations import fresh_tickets_invent, invitations_write, surveys_simulate
from .run import DEMO_SOURCE, DemoRun
from .tickets import tickets_invent, tickets_write


@dataclass(frozen=True)
class DemoCounts:
    tickets: int
    surveys: int
    sent: int  # survey emails
    scheduled_surveys: int  # tickets whose survey goes out within the hour
    responses: int
    open_followups: int


def demo_build(*, seed: int, ticket_count: int) -> DemoCounts:
    """Six months of the survey loop ending now, in the database; the caller makes
    room for it (no tickets, or only earlier demo ones deleted) and holds the
    transaction. The steps draw from one random source: in another order, the same
    seed makes another demo."""
    run = DemoRun(seed=seed)
    customers = customers_invent(run=run, ticket_count=ticket_count)
    fresh = max(3, round(ticket_count * 0.004))
    tickets = tickets_invent(run=run, customers=customers, count=ticket_count - fresh)
    surveys_simulate(run=run, tickets=tickets)
    tickets += fresh_tickets_invent(run=run, customers=customers, tickets=tickets, count=fresh)

    teams, users = staff_upsert()
    customers_write(run=run, customers=customers, tickets=tickets)
    tickets_write(run=run, tickets=tickets, teams=teams, users=users)
    invitations_write(run=run, tickets=tickets, teams=teams, users=users)
    responses = responses_write(run=run, tickets=tickets)
    followups_write(run=run, responses=responses)
    rollups_rebuild()

    surveys = Survey.objects.filter(ticket__source=DEMO_SOURCE)
    return DemoCounts(
        tickets=len(tickets),
        surveys=surveys.count(),
        sent=surveys.filter(sent_at__isnull=False).count(),
        scheduled_surveys=surveys.filter(state=Survey.State.SCHEDULED).count(),
        responses=len(responses),
        open_followups=FollowUp.objects.filter(status__in=FollowUp.OPEN_STATUSES).count(),
    )
