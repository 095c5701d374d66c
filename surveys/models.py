"""Tickets, customers, survey invitations and the answers to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """The support side of a Django user: the team they belong to."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.email or self.user.username


class Customer(models.Model):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    # A language code Kundpuls speaks (en, sv, nb, da, fi, fy), already normalised.
    locale = models.CharField(max_length=10, default="en")
    opted_out_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    source = models.CharField(max_length=50)
    external_id = models.CharField(max_length=100)
    subject = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    channel = models.CharField(max_length=30, blank=True, default="")
    category = models.CharField(max_length=100, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    url = models.URLField(max_length=500, blank=True)
    requester = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    # Assignee and team as they were when the ticket was solved: scores are credited
    # to them, and a later reassignment in the helpdesk does not move them.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    agent_replies = models.PositiveIntegerField(default=0)
    reopens = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="ticket_unique_source_id"
            )
        ]
        indexes = [models.Index(fields=["created_at"]), models.Index(fields=["solved_at"])]

    def __str__(self) -> str:
        return f"{self.source}#{self.external_id}"

    @property
    def is_solved(self) -> bool:
        return self.status in (self.Status.SOLVED, self.Status.CLOSED)


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (CSAT)")
    CES = "ces", _("Effort (CES)")
    NPS = "nps", _("Recommendation (NPS)")


def by_question_order(invitations: list[Invitation]) -> list[Invitation]:
    """CSAT first, then CES, then NPS: the order the survey asks them in."""
    order = list(SurveyKind.values)
    return sorted(invitations, key=lambda inv: order.index(inv.kind))


class Invitation(models.Model):
    """One survey question asked about one ticket.

    The invitations of a ticket that are due together go out in one email and
    share one link token, so the customer answers them on one page.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired")
        SUPPRESSED = "suppressed", _("Suppressed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    # Why it was suppressed, cancelled or failed, for the admin.
    reason = models.CharField(max_length=300, blank=True)
    # The scale asked, so a later change of settings does not change old answers.
    scale_points = models.PositiveSmallIntegerField()
    # A CES question where a low answer is good ("How much effort...?").
    inverted = models.BooleanField(default=False)
    # Copied from the ticket when it was solved: metrics group by these.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    channel = models.CharField(max_length=30, blank=True, default="")
    category = models.CharField(max_length=100, blank=True, default="")
    locale = models.CharField(max_length=10, default="en")
    send_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the link token; shared by the invitations sent in one email.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind"], name="invitation_unique_ticket_kind")
        ]
        indexes = [
            models.Index(fields=["state", "send_after"]),
            models.Index(fields=["customer", "kind", "sent_at"]),
            models.Index(fields=["sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.ticket}"

    @property
    def is_delivered(self) -> bool:
        return self.sent_at is not None and self.bounced_at is None


class Response(models.Model):
    """The current answer to an invitation; earlier versions are ResponseRevisions."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    # As the customer answered it, on the scale they were shown.
    raw_score = models.SmallIntegerField()
    # Normalised so that higher is better for every kind (see METRICS.md, CES).
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set when the follow-up flagging and metric refresh have run for this version.
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.invitation.kind} {self.raw_score} on {self.invitation.ticket}"


class ResponseRevision(models.Model):
    """Every answer the customer submitted, the latest included."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="revisions")
    raw_score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submitted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.raw_score} at {self.submitted_at:%Y-%m-%d %H:%M}"


class SurveyPolicy(models.Model):
    """Who is surveyed when: one row, editable in the admin."""

    company_name = models.CharField(max_length=100, default="Kundpuls Demo")
    csat_scale = models.PositiveSmallIntegerField(
        default=5, choices=[(3, "1-3"), (5, "1-5"), (7, "1-7")]
    )
    ces_scale = models.PositiveSmallIntegerField(default=7, choices=[(5, "1-5"), (7, "1-7")])
    ces_enabled = models.BooleanField(default=True)
    ces_inverted = models.BooleanField(
        default=False,
        help_text=_('The CES question asks "How much effort...?", so a low answer is good.'),
    )
    nps_enabled = models.BooleanField(default=True)
    nps_interval_days = models.PositiveIntegerField(
        default=90, help_text=_("Ask a customer NPS at most once in this many days.")
    )
    throttle_days = models.PositiveIntegerField(
        default=7, help_text=_("At most one survey email per customer in this many days.")
    )
    answer_days = models.PositiveIntegerField(
        default=30, help_text=_("A survey link expires this many days after it was sent.")
    )
    edit_days = models.PositiveIntegerField(
        default=7, help_text=_("A customer may change an answer for this many days.")
    )
    excluded_tags = models.JSONField(
        default=list,
        blank=True,
        help_text=_('Tickets with any of these tags get no survey, e.g. ["no-survey"].'),
    )
    internal_domains = models.JSONField(
        default=list,
        blank=True,
        help_text=_('Requesters at these email domains get no survey, e.g. ["example.com"].'),
    )

    class Meta:
        verbose_name = _("survey policy")
        verbose_name_plural = _("survey policy")

    def __str__(self) -> str:
        return "Survey policy"

    @classmethod
    def load(cls) -> SurveyPolicy:
        policy, _created = cls.objects.get_or_create(
            pk=1, defaults={"excluded_tags": ["no-survey"]}
        )
        return policy


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class OutboxMessage(models.Model):
    """An email kept by the development outbox backend instead of being sent."""

    to = models.CharField(max_length=500)
    subject = models.CharField(max_length=500)
    text = models.TextField()
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} -> {self.to}"
