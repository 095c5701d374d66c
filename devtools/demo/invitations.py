"""The survey loop: each solved ticket's survey planned and sent by the rules the
running system applies, in time order, and the few surveys left to go out within
the hour."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from surveys import rules
from surveys.models import Invitation, Survey, Team

from .answers import survey_answer
from .cast import AGENTS
from .run import BATCH, CustomerSpec, DemoRun, InvitationSpec, TicketSpec
from .tickets import ticket_invent

State = Survey.State

SCALES = {"csat": 5, "ces": 7, "nps": 11}


def surveys_simulate(*, run: DemoRun, tickets: list[TicketSpec]) -> None:
    """Plan each solved ticket's survey when solved and send it when due, in time
    order, so the throttle, NPS interval and opt-outs apply as they would have."""
    events = []
    for index, ticket in enumerate(tickets):
        if ticket.solved_at is not None:
            events.append((ticket.solved_at, 0, index))
            events.append((ticket.solved_at + run.delay, 1, index))
    for at, step, index in sorted(events):
        ticket = tickets[index]
        if step == 0:
            _plan(run, ticket)
        elif at <= run.now:
            _send(run, ticket, at)


def _plan(run: DemoRun, ticket: TicketSpec) -> None:
    customer, solved_at = ticket.customer, ticket.solved_at
    assert solved_at is not None
    live_nps = [
        i.sent_at or i.send_after
        for i in customer.nps_invitations
        if i.state not in (State.SUPPRESSED, State.FAILED, State.CANCELLED)
    ]
    plan = rules.survey_plan(
        requester_email=customer.email,
        opted_out=customer.opted_out(solved_at),
        tags=ticket.tags,
        excluded_tags=run.policy.excluded_tags,
        internal_domains=run.policy.internal_domains,
        ces_enabled=run.policy.ces_enabled,
        nps_enabled=run.policy.nps_enabled,
        last_nps_at=max(live_nps, default=None),
        nps_interval_days=run.policy.nps_interval_days,
        now=solved_at,
    )
    send_after = solved_at + run.delay
    if not plan.kinds:
        ticket.invitations = [
            InvitationSpec("csat", State.SUPPRESSED, send_after, reason=plan.skip_reason)
        ]
        return
    ticket.invitations = [InvitationSpec(k, State.SCHEDULED, send_after) for k in plan.kinds]
    customer.nps_invitations += [i for i in ticket.invitations if i.kind == "nps"]


def _send(run: DemoRun, ticket: TicketSpec, at: datetime) -> None:
    customer = ticket.customer
    due = [i for i in ticket.invitations if i.state == State.SCHEDULED]
    if not due:
        return
    for inv in due:
        inv.claimed_at = at
    reason = rules.send_block_reason(
        opted_out=customer.opted_out(at),
        last_email_at=customer.last_email_at,
        throttle_days=run.policy.throttle_days,
        now=at,
    )
    blocked = list(due) if reason else []
    if not reason and not rules.nps_due(
        last_nps_at=customer.last_nps_sent_at,
        interval_days=run.policy.nps_interval_days,
        now=at,
    ):
        blocked = [i for i in due if i.kind == "nps"]
        reason = f"NPS asked in the last {run.policy.nps_interval_days} days"
    for inv in blocked:
        inv.state, inv.reason = State.SUPPRESSED, reason
    sent = [i for i in due if i not in blocked]
    if not sent:
        return
    for inv in sent:
        inv.state, inv.sent_at = State.SENT, at
    customer.last_email_at = at
    if any(i.kind == "nps" for i in sent):
        customer.last_nps_sent_at = at
    survey_answer(run=run, ticket=ticket, sent=sent, at=at)


def fresh_tickets_invent(
    *, run: DemoRun, customers: list[CustomerSpec], tickets: list[TicketSpec], count: int
) -> list[TicketSpec]:
    """Tickets solved in the last hour whose surveys the system will send shortly,
    numbered after `tickets` (which have been through surveys_simulate)."""
    throttle = timedelta(days=run.policy.throttle_days)
    # Customers with an open ticket or a survey about to go out are left alone.
    busy = {
        id(t.customer)
        for t in tickets
        if t.solved_at is None or any(i.state == State.SCHEDULED for i in t.invitations)
    }
    eligible = [
        c
        for c in customers
        if not c.will_opt_out
        and c.opted_out_at is None
        and id(c) not in busy
        and (c.last_email_at is None or c.last_email_at < run.now - throttle)
    ]
    fresh = []
    for offset, customer in enumerate(run.rng.sample(eligible, min(count, len(eligible)))):
        send_after = run.now + timedelta(minutes=run.rng.uniform(2, 60))
        solved_at = min(send_after - run.delay, run.now - timedelta(minutes=1))
        created_at = solved_at - timedelta(hours=run.rng.uniform(1, 72))
        ticket = ticket_invent(
            run=run, number=10001 + len(tickets) + offset, customer=customer, created_at=created_at
        )
        ticket.first_response_at = created_at + (solved_at - created_at) / 4
        ticket.solved_at = solved_at
        ticket.agent_replies = run.rng.randint(1, 3)
        ticket.tags = [t for t in ticket.tags if t != "no-survey"]
        _plan(run, ticket)
        for inv in ticket.invitations:
            inv.send_after = send_after
        fresh.append(ticket)
    return fresh


# A survey's state from its questions' (specs'): the first one any of them has.
PRECEDENCE = (
    State.ANSWERED,
    State.SENT,
    State.EXPIRED,
    State.SENDING,
    State.SCHEDULED,
    State.FAILED,
    State.SUPPRESSED,
    State.CANCELLED,
)


def invitations_write(
    *, run: DemoRun, tickets: list[TicketSpec], teams: dict[str, Team], users: list[Any]
) -> None:
    """Each surveyed ticket's survey and its questions, after the tickets
    (tickets.tickets_write). An NPS question left out when the email went out (asked
    too recently) is not a question of the survey; the survey says why."""
    surveyed = [t for t in tickets if t.invitations]
    surveys = [_survey_row(run, t, teams, users) for t in surveyed]
    Survey.objects.bulk_create(surveys, batch_size=BATCH)
    questions = []
    for ticket, survey in zip(surveyed, surveys, strict=True):
        for inv in _asked(ticket):
            inv.obj = Invitation(
                survey=survey,
                kind=inv.kind,
                scale_points=SCALES[inv.kind],
                inverted=inv.kind == "ces" and run.policy.ces_inverted,
                created_at=ticket.solved_at,
            )
            questions.append(inv.obj)
    Invitation.objects.bulk_create(questions, batch_size=BATCH)


def _state(ticket: TicketSpec) -> str:
    states = {i.state for i in ticket.invitations}
    return next(state for state in PRECEDENCE if state in states)


def _asked(ticket: TicketSpec) -> list[InvitationSpec]:
    if _state(ticket) == State.SUPPRESSED:
        return ticket.invitations[:1]
    return [i for i in ticket.invitations if i.state != State.SUPPRESSED]


def _survey_row(
    run: DemoRun, ticket: TicketSpec, teams: dict[str, Team], users: list[Any]
) -> Survey:
    assert ticket.solved_at is not None
    state = _state(ticket)
    lead = min(ticket.invitations, key=lambda i: i.sent_at is None)
    left_out = [i for i in ticket.invitations if i.state == State.SUPPRESSED]
    reason = lead.reason
    if left_out and state != State.SUPPRESSED:
        reason = f"NPS left out: {left_out[0].reason.removeprefix('NPS ')}"
    sent = lead.sent_at is not None
    survey = Survey(
        ticket=ticket.obj,
        customer=ticket.customer.obj,
        state=state,
        reason=reason,
        agent=users[ticket.agent],
        team=teams[AGENTS[ticket.agent].team],
        channel=ticket.channel,
        category=rules.category_key(ticket.category),
        locale=ticket.customer.locale,
        send_after=lead.send_after,
        attempts=1 if sent else 0,
        claimed_at=lead.claimed_at,
        sent_at=lead.sent_at,
        expires_at=lead.sent_at + run.answer_window if lead.sent_at else None,
        created_at=ticket.solved_at,
    )
    survey.link_key = secrets.token_hex(32)
    survey.first_clicked_at = _first_click(run, ticket, survey)
    return survey


def _first_click(run: DemoRun, ticket: TicketSpec, survey: Survey) -> datetime | None:
    """When the customer first clicked a rating link: a few minutes before answering
    (every demo answer came through the email's links, so clicked >= answered), and
    for about one in eight surveys left unanswered, a click without an answer."""
    answered = [i.answered_at for i in ticket.invitations if i.answered_at is not None]
    if answered and survey.sent_at is not None:
        before = timedelta(seconds=run.rng.randint(20, 600))
        return max(survey.sent_at, min(answered) - before)
    unanswered = survey.state in (State.SENT, State.EXPIRED) and survey.sent_at is not None
    if unanswered and run.rng.random() < 0.125:
        return survey.sent_at + timedelta(minutes=run.rng.randint(5, 2 * 24 * 60))
    return None
