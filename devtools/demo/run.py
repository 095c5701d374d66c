"""What every part of a demo run shares: its random source, clock and survey policy,
and the specs (customers, tickets, invitations) it builds in memory before writing."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from surveys.models import Customer, Invitation, SurveyPolicy, Ticket

DEMO_SOURCE = "demo"
DAYS = 182  # about six months, ending today
BATCH = 500


class DemoRun:
    """One run of the generator. There is one random source for the whole run, so
    the same seed gives the same demo only while the calls on it keep their order."""

    def __init__(self, *, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
        self.now = timezone.now().replace(microsecond=0)
        self.tz = timezone.get_current_timezone()
        self.today = timezone.localdate(self.now)
        self.start = self.local(self.today - timedelta(days=DAYS), time.min)
        self.policy = SurveyPolicy.load()
        self.delay = timedelta(seconds=settings.SURVEY_SEND_DELAY)
        self.answer_window = timedelta(days=self.policy.answer_days)

    def local(self, day: date, at: time) -> datetime:
        return timezone.make_aware(datetime.combine(day, at), self.tz)

    def lognormal_minutes(self, median: float, sigma: float) -> timedelta:
        return timedelta(minutes=median * math.exp(self.rng.gauss(0, sigma)))


@dataclass
class CustomerSpec:
    email: str
    name: str
    locale: str
    will_opt_out: bool
    weight: float
    opted_out_at: datetime | None = None
    created_at: datetime | None = None
    last_email_at: datetime | None = None
    last_nps_sent_at: datetime | None = None
    nps_invitations: list[InvitationSpec] = field(default_factory=list)
    obj: Customer | None = None

    def opted_out(self, at: datetime) -> bool:
        return self.opted_out_at is not None and self.opted_out_at <= at


@dataclass
class InvitationSpec:
    kind: str
    state: str
    send_after: datetime
    reason: str = ""
    raw_score: int | None = None
    comment: str = ""
    answered_at: datetime | None = None
    sent_at: datetime | None = None
    claimed_at: datetime | None = None
    obj: Invitation | None = None


@dataclass
class TicketSpec:
    number: int
    customer: CustomerSpec
    created_at: datetime
    channel: str
    category: str
    agent: int  # an index into cast.AGENTS
    status: str = Ticket.Status.SOLVED
    first_response_at: datetime | None = None
    solved_at: datetime | None = None
    agent_replies: int = 1
    reopens: int = 0
    tags: list[str] = field(default_factory=list)
    subject: str = ""
    invitations: list[InvitationSpec] = field(default_factory=list)
    obj: Ticket | None = None
