"""Tickets, customers, survey invitations and the answers to them."""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.formats import number_format
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
    # Set when the email provider reported a hard bounce or a spam complaint for this
    # address: no survey email goes to it again (an admin may clear it).
    suppressed_at = models.DateTimeField(null=True, blank=True)
    suppressed_reason = models.CharField(max_length=200, blank=True)
    # An expired unsubscribe link's "email me a new one": asked for (and not sent yet),
    # and when the last one went (at most one an hour).
    unsubscribe_link_due_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_link_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the person's data was erased (privacy.erasure): the address and name are
    # gone, and the row only keeps their answers' scores in the reports.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]
        indexes = [
            # The sweep looks for asked-for links every run: only those rows are indexed.
            models.Index(
                fields=["unsubscribe_link_due_at"],
                condition=models.Q(unsubscribe_link_due_at__isnull=False),
                name="customer_unsub_link_due",
            )
        ]

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
    # When what was personal about it was erased (its customer's erasure, or the
    # retention policy): subject, tags, comments, case notes. Its scores stay.
    erased_at = models.DateTimeField(null=True, blank=True)

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


def by_question_order(questions: list[Any]) -> list[Any]:
    """CSAT first, then CES, then NPS: the order the survey asks them in. Takes
    questions or answers (each answer keeps a copy of its question's kind)."""
    order = list(SurveyKind.values)
    return sorted(questions, key=lambda question: order.index(question.kind))


def answer_copies() -> dict[str, models.Exists]:
    """The values of a survey's copies of its answers, read from the responses (by
    field name): written by answers_copy, compared by surveys.copies."""
    counted = Response.objects.filter(invitation__survey=models.OuterRef("pk"), held=False)
    return {
        "answer_counted": models.Exists(counted),
        "answer_commented": models.Exists(counted.filter(COMMENTED)),
    }


class SurveyQuerySet(models.QuerySet):
    def answers_copy(self) -> int:
        """Recompute these surveys' copies of their answers (answer_counted,
        answer_commented) from the responses. Safe to re-run; returns the rows
        updated. Whatever changes a response without Response.save() (an update(),
        a bulk create or delete) calls this in the same transaction."""
        return self.update(**answer_copies())


class Survey(models.Model):
    """The survey email sent to one customer about one solved ticket.

    Its questions are Invitation rows (CSAT, CES, and NPS when due), answered on one
    page; its links are SurveyLink rows, its link fetches LinkClick rows. The state,
    the sending, what the email provider reported and the bot judgement belong to
    the email, so they are kept here once.
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

    # States whose email went out: its links work.
    MAILED_STATES = (State.SENT, State.ANSWERED, State.EXPIRED)

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="surveys")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="surveys")
    state = models.CharField(max_length=20, choices=State.choices, default=State.SCHEDULED)
    # Why it was suppressed, cancelled or failed (or why NPS was left out), for the admin.
    reason = models.CharField(max_length=300, blank=True)
    # Copied from the ticket when it was solved: metrics group by these, and credit
    # stays with the agent and team at solve time.
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
    # When a sweep last put its send on the queue (surveys.queue.queue_due).
    queued_at = models.DateTimeField(null=True, blank=True)
    # Who claimed the send (the Celery task's id): the same task, delivered again after
    # its worker died, recognises its claim and sends the identical email at once.
    claim = models.CharField(max_length=64, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # From the email provider's tracking events (django-anymail), when it reports them.
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    # The provider's id of the survey email and of the reminder, to match its events.
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    reminder_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    # The link tokens are derived from this and the SECRET_KEY (surveys.tokens), so a
    # send that is tried again carries the same links; only their hashes are stored
    # (SurveyLink).
    link_key = models.CharField(max_length=64, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Link fetches (see LinkClick). "Clicked" = first_clicked_at set: the first fetch of
    # one of the email's links that did not look automated. "Filtered as bot" =
    # bot_suspect_at set: a scanner fetched the email's links (its answers still count:
    # an answer is judged on its own, see Response.held).
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    # Rated from buttons in the helpdesk's own email ("embedded"): Kundpuls sent no
    # email of its own. "signed": its links carry the ticket's token; "unsigned": only
    # the helpdesk's ticket id, which a team should know when it reads the answer.
    embedded = models.CharField(
        max_length=10,
        blank=True,
        default="",
        choices=[("signed", "signed"), ("unsigned", "unsigned")],
    )
    # When the customer first sent the page's form (the button). An answer recorded
    # by the rating link's click alone (the page sends it) leaves it empty.
    completed_at = models.DateTimeField(null=True, blank=True)
    bot_suspect_at = models.DateTimeField(null=True, blank=True, db_index=True)
    bot_suspect_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Copies of the answers, so the funnel rollup reads this table alone: an answer
    # that counts (not held for review), and one with a comment. Kept by
    # Response.save() and SurveyQuerySet.answers_copy(), in the answer's transaction.
    answer_counted = models.BooleanField(default=False, editable=False)
    answer_commented = models.BooleanField(default=False, editable=False)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        constraints = [
            # One survey per ticket: a ticket solved again after a reopen is not asked twice.
            models.UniqueConstraint(fields=["ticket"], name="survey_unique_ticket")
        ]
        indexes = [
            models.Index(fields=["state", "send_after"]),
            models.Index(fields=["customer", "sent_at"]),
            models.Index(fields=["sent_at"]),
        ]

    def __str__(self) -> str:
        return f"Survey for {self.ticket}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.link_key:
            self.link_key = secrets.token_hex(32)
        super().save(*args, **kwargs)

    @property
    def is_delivered(self) -> bool:
        return self.sent_at is not None and self.bounced_at is None and self.complained_at is None

    @property
    def is_bot_suspect(self) -> bool:
        return self.bot_suspect_at is not None

    @property
    def questions(self) -> list[Invitation]:
        """Its questions in the order they are asked (CSAT, CES, NPS), with their
        answers: from prefetch_related("invitations__response") when the caller did
        that (a list of surveys), else in one query."""
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("invitations")
        rows = prefetched if prefetched is not None else self.invitations.select_related("response")
        return by_question_order(list(rows))

    @property
    def answers(self) -> list[Response]:
        """Its answers (held ones too) in the order the questions are asked."""
        return [q.response for q in self.questions if hasattr(q, "response")]


class SurveyLink(models.Model):
    """A link token of a survey email (the survey email's own, or its reminder's): the
    SHA-256 of the token, looked up with one query on this unique column."""

    class Purpose(models.TextChoices):
        SURVEY = "survey", _("Survey email")
        REMINDER = "reminder", _("Reminder")

    token_hash = models.CharField(max_length=64, unique=True)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="links")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} link of {self.survey}"


class Invitation(models.Model):
    """One question of a survey, asked on its scale: the customer is invited to
    answer it; their answer is its Response."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    # The scale asked, so a later change of settings does not change old answers.
    scale_points = models.PositiveSmallIntegerField()
    # A CES question where a low answer is good ("How much effort...?").
    inverted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "kind"], name="invitation_unique_survey_kind")
        ]
        verbose_name = _("question")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.survey.ticket}"


class LinkClick(models.Model):
    """One fetch of a link in a survey email, by a person or a mail scanner.

    Nothing that identifies the person is stored: no IP address, and the user agent
    only as a short keyed hash, so fetches by the same client can be told apart from
    others.
    """

    class Link(models.TextChoices):
        RATING = "rating", _("Rating link")
        SURVEY = "survey", _("Survey link")
        HONEYPOT = "honeypot", _("Hidden link")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="clicks")
    link = models.CharField(max_length=10, choices=Link.choices)
    score = models.SmallIntegerField(null=True, blank=True)
    method = models.CharField(max_length=8)
    agent_key = models.CharField(max_length=16, blank=True)
    at = models.DateTimeField(default=timezone.now)
    # Why this fetch looks automated ("" when it looks like a person), re-judged as
    # later fetches of the same email come in.
    automated_reason = models.CharField(max_length=200, blank=True)
    # When the worker judged it (surveys.clicks.clicks_judge); a page view only
    # stores the fetch, and the sweep judges any whose task was lost.
    judged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["survey", "at"]),
            models.Index(
                fields=["at"],
                condition=models.Q(judged_at__isnull=True),
                name="linkclick_unjudged",
            ),
        ]

    def __str__(self) -> str:
        score = f" {self.score}" if self.score is not None else ""
        return f"{self.method} {self.link}{score} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_automated(self) -> bool:
        return bool(self.automated_reason)


class ResponseQuerySet(models.QuerySet):
    def counted(self) -> ResponseQuerySet:
        """The answers metrics and follow-ups use: not held for review."""
        return self.filter(held=False)


class Response(models.Model):
    """The current answer to an invitation; earlier versions are ResponseRevisions.

    An answer that looks automated (sent too soon after the page was served, or
    without the page's form token) is held: kept, but left out of metrics and
    follow-ups until an admin approves it.
    """

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    # As the customer answered it, on the scale they were shown.
    raw_score = models.SmallIntegerField()
    # Normalised so that higher is better for every kind (see METRICS.md, CES).
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    # When the comment was erased (the customer's data erased, or kept past the
    # retention policy): it still counts as an answer with a comment in the reports.
    comment_erased_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set when the follow-up flagging and metric refresh have run for this version.
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    held = models.BooleanField(default=False, db_index=True)
    held_reason = models.CharField(max_length=200, blank=True)
    # When an admin approved a held answer.
    released_at = models.DateTimeField(null=True, blank=True)
    # Copies of the question's kind and scale and its survey's dimensions
    # (INVITATION_COPIES, SURVEY_COPIES), taken when the answer is created, so the
    # score rollup reads this table alone. They do not change: credit stays with the
    # agent and team at solve time.
    kind = models.CharField(max_length=10, choices=SurveyKind.choices, editable=False)
    scale_points = models.PositiveSmallIntegerField(editable=False)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        editable=False,
        db_index=False,
        related_name="+",
    )
    team = models.ForeignKey(
        Team, null=True, on_delete=models.SET_NULL, editable=False, db_index=False, related_name="+"
    )
    channel = models.CharField(max_length=30, blank=True, default="", editable=False)
    category = models.CharField(max_length=100, blank=True, default="", editable=False)
    # What went wrong, ticked after a low score (ordered as the reasons are).
    reasons = models.ManyToManyField(
        "Reason", through="ResponseReason", related_name="responses", blank=True
    )

    objects = ResponseQuerySet.as_manager()

    # What a changed answer replaces (the copies and answered_at stay).
    ANSWER_FIELDS = (
        "raw_score",
        "score",
        "comment",
        "updated_at",
        "held",
        "held_reason",
        "released_at",
        "processed_at",
    )
    INVITATION_COPIES = ("kind", "scale_points")
    SURVEY_COPIES = ("agent_id", "team_id", "channel", "category")

    def __str__(self) -> str:
        return f"{self.kind} {self.raw_score} on {self.invitation.survey.ticket}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, copying the question's and survey's dimensions into a new answer, and
        keep the survey's copies of its answers in step (see Survey.answer_counted)."""
        if self._state.adding:
            self.copy_dimensions(self.invitation)
        super().save(*args, **kwargs)
        Survey.objects.filter(invitations=self.invitation_id).answers_copy()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Delete, and keep the survey's copies in step. A queryset delete does not
        come here: it calls SurveyQuerySet.answers_copy() (surveys.answering.
        responses_delete), or goes with its survey."""
        invitation_id = self.invitation_id
        deleted = super().delete(*args, **kwargs)
        Survey.objects.filter(invitations=invitation_id).answers_copy()
        return deleted

    def copy_dimensions(self, invitation: Invitation) -> None:
        """Take the question's and its survey's dimensions; for answers made without
        save() (bulk)."""
        for name in self.INVITATION_COPIES:
            setattr(self, name, getattr(invitation, name))
        for name in self.SURVEY_COPIES:
            setattr(self, name, getattr(invitation.survey, name))


class Category(models.Model):
    """A ticket category: tickets carry its key (case and spacing folded, see
    rules.category_key); reports show its name, which an admin may edit."""

    key = models.CharField(max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def names(cls) -> dict[str, str]:
        """Every category's name by its key (read once into the setup_cache)."""
        return setup_cache.get("categories", lambda: dict(cls.objects.values_list("key", "name")))


class Reason(models.Model):
    """A reason a customer may tick after a low score of one kind ("Slow answer"):
    an admin words, translates, orders and retires them. One with answers is made
    inactive, never deleted (ResponseReason protects it)."""

    kind = models.CharField(
        _("question"),
        max_length=10,
        choices=SurveyKind.choices,
        help_text=_("Offered after a low score of this question."),
    )
    code = models.SlugField(
        _("code"), max_length=40, help_text=_("Stable name for exports, the API and webhooks.")
    )
    label = models.CharField(_("label (English)"), max_length=100)
    # The admin's own wording per language ({"sv": "Långsamt svar"}); a language
    # without one gets the catalogue's translation of the label (see label_in).
    translations = models.JSONField(_("translations"), default=dict, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active reasons are offered.")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["kind", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="reason_unique_kind_code")
        ]
        verbose_name = _("reason")
        verbose_name_plural = _("reasons")

    def __str__(self) -> str:
        return f"{self.kind}: {self.label}"

    def label_in(self, language: str) -> str:
        """The label in a language: the admin's translation, else the catalogue's
        translation of the English label (the defaults are in it), else the label."""
        own = str((self.translations or {}).get(language, "")).strip()
        if own:
            return own
        with translation.override(language or "en"):
            return translation.gettext(self.label)

    @classmethod
    def offered(cls) -> dict[str, list[Reason]]:
        """The active reasons of each kind, in order: read once into the setup_cache
        (the survey page asks on every request)."""

        def load() -> dict[str, list[Reason]]:
            by_kind: dict[str, list[Reason]] = {kind: [] for kind in SurveyKind.values}
            for reason in cls.objects.filter(active=True):
                by_kind[reason.kind].append(reason)
            return by_kind

        return setup_cache.get("reasons", load)


class ResponseReason(models.Model):
    """A reason the customer ticked with a low answer. Replaced with the answer when
    the customer changes it; gone with the answer when that is deleted."""

    response = models.ForeignKey(
        "Response", on_delete=models.CASCADE, related_name="response_reasons"
    )
    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, related_name="response_reasons")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "reason"], name="response_reason_unique")
        ]
        verbose_name = _("reason given")
        verbose_name_plural = _("reasons given")

    def __str__(self) -> str:
        return f"{self.reason.code} on answer {self.response_id}"


# An answer with a comment, as the reports count it: an erased comment still counts.
COMMENTED = ~models.Q(comment="") | models.Q(comment_erased_at__isnull=False)


class ResponseRevision(models.Model):
    """Every answer the customer submitted, the latest included."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="revisions")
    raw_score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    # The codes of the reasons ticked with it.
    reasons = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submitted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.raw_score} at {self.submitted_at:%Y-%m-%d %H:%M}"


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio of two #rrggbb colours, 1 to 21."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# Buttons are white text on the brand colour and links brand text on white: WCAG AA.
MIN_CONTRAST = 4.5


def validate_brand_color(value: str) -> None:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value or ""):
        raise ValidationError(_("Enter a colour as # and six hex digits, e.g. #1f5fbf."))
    ratio = contrast_ratio(value, "#ffffff")
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            _(
                "This colour is too light to carry white text (contrast %(ratio)s:1, at least "
                "4.5:1 is needed to be readable). Choose a darker shade."
            ),
            params={"ratio": number_format(ratio, decimal_pos=1)},
        )


class SurveyPolicy(models.Model):
    """Who is surveyed when: one row, editable in the admin."""

    class CsatStyle(models.TextChoices):
        NUMBERS = "numbers", _("Numbers")
        STARS = "stars", _("Stars")
        FACES = "faces", _("Faces")

    company_name = models.CharField(max_length=100, default="Kundpuls Demo")
    website_url = models.URLField(
        blank=True, help_text=_("The thank-you page links here, e.g. https://www.example.com/.")
    )
    brand_color = models.CharField(
        max_length=7,
        default="#1f5fbf",
        validators=[validate_brand_color],
        help_text=_("Buttons and links in emails and survey pages, e.g. #1f5fbf."),
    )
    # The logo is kept in the database and served by Kundpuls itself at an absolute
    # URL, so every web process has it and survey pages load nothing from other hosts.
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=30, blank=True, editable=False)
    logo_hash = models.CharField(max_length=16, blank=True, editable=False)
    csat_scale = models.PositiveSmallIntegerField(
        default=5, choices=[(3, "1-3"), (5, "1-5"), (7, "1-7")]
    )
    csat_style = models.CharField(
        max_length=10,
        choices=CsatStyle.choices,
        default=CsatStyle.NUMBERS,
        help_text=_("How the satisfaction scale looks; every point also shows its number."),
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
    reminder_days = models.PositiveIntegerField(
        default=3,
        help_text=_(
            "Send one reminder this many days after an unanswered survey (0: no reminder). "
            "It must come before the throttle days have passed."
        ),
    )
    recovery_survey = models.BooleanField(
        default=True,
        help_text=_(
            'When a follow-up case is resolved, ask the customer "Did we sort it out?"; '
            "the answer sets the case's outcome."
        ),
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

    def save(self, *args, **kwargs) -> None:
        self.logo_hash = (
            hashlib.sha256(bytes(self.logo or b"")).hexdigest()[:16] if self.logo else ""
        )
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.reminder_days and self.throttle_days and self.reminder_days >= self.throttle_days:
            raise ValidationError(
                {
                    "reminder_days": _(
                        "A reminder must come before the throttle days (%(days)s) have passed."
                    )
                    % {"days": self.throttle_days}
                }
            )

    @classmethod
    def load(cls, *, with_logo: bool = False) -> SurveyPolicy:
        """The one policy row, made on first use: from this process's setup_cache
        (every customer request reads it; see SetupCache). The logo (up to 200 KB)
        is left out unless asked for; it is read from the database if used."""
        if with_logo:
            return cls._fetch(cls.objects.all())
        # A copy: a caller that changes its policy does not change the cached one.
        return copy.copy(setup_cache.get("policy", lambda: cls._fetch(cls.objects.defer("logo"))))

    @classmethod
    def _fetch(cls, objects: models.QuerySet) -> SurveyPolicy:
        policy, _created = objects.get_or_create(pk=1, defaults={"excluded_tags": ["no-survey"]})
        return policy


class SetupCache:
    """What every customer request and email reads and an admin rarely changes (the
    survey policy, the question texts), kept in each process for
    SURVEY_SETUP_CACHE_SECONDS. Saving or deleting one drops it at once in the
    process that saved it; every other web and worker process reads the change
    within those seconds."""

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        kept = self._values.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = load()
        seconds = settings.SURVEY_SETUP_CACHE_SECONDS
        if seconds > 0:
            self._values[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        self._values.clear()


setup_cache = SetupCache()


class QuestionText(models.Model):
    """An admin's own wording of a question in one language, instead of the default."""

    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    text = models.CharField(
        max_length=300,
        help_text=_(
            "{company} is replaced by the company name. For an inverted CES question, "
            "word it so that a low answer is good."
        ),
    )

    class Meta:
        ordering = ["kind", "language"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "language"], name="question_text_unique")
        ]
        verbose_name = _("question text")

    def __str__(self) -> str:
        return f"{self.kind} ({self.language}): {self.text}"

    @classmethod
    def own(cls, *, kind: str, language: str) -> str:
        """The admin's wording of a question in a language, "" for the default one:
        all wordings are read once into the setup_cache."""

        def load() -> dict[tuple[str, str], str]:
            return {
                (k, lang): text
                for k, lang, text in cls.objects.values_list("kind", "language", "text")
            }

        return setup_cache.get("question_texts", load).get((kind, language), "")


@receiver(post_save, sender=SurveyPolicy, dispatch_uid="surveys_policy_saved")
@receiver(post_delete, sender=SurveyPolicy, dispatch_uid="surveys_policy_deleted")
@receiver(post_save, sender=QuestionText, dispatch_uid="surveys_question_text_saved")
@receiver(post_save, sender=Reason, dispatch_uid="surveys_reason_saved")
@receiver(post_delete, sender=Reason, dispatch_uid="surveys_reason_deleted")
@receiver(post_save, sender=Category, dispatch_uid="surveys_category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="surveys_category_deleted")
@receiver(post_delete, sender=QuestionText, dispatch_uid="surveys_question_text_deleted")
def _setup_changed(sender: Any, **kwargs: Any) -> None:
    setup_cache.clear()


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # May also erase and export customers' personal data (/api/v1/customers/...).
    admin = models.BooleanField(
        _("admin key"),
        default=False,
        help_text=_("May also erase and export a customer's personal data."),
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ErasedAddress(models.Model):
    """The address of an erased customer who had asked not to be mailed (or whose
    mail bounced), kept only as a keyed hash (surveys.addresses.address_hash): a new
    ticket from it makes a new customer who is not mailed either."""

    address_hash = models.CharField(max_length=64, unique=True)
    opted_out = models.BooleanField(default=False)
    suppressed = models.BooleanField(default=False)
    erased_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.address_hash[:12]


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


class Lease(models.Model):
    """A named job that one process runs at a time (beat's schedule, the nightly
    rebuild). The holder renews it while it works; when it stops, the lease runs out
    and another process may take it. See surveys/leases.py."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("lease")

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at:%H:%M:%S}"
