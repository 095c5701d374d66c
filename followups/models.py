"""Follow-up cases opened for low scores, their history, and what opens them."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.models import Survey, SurveyKind, Team


class FollowUp(models.Model):
    """A customer someone should call back: one case per answered survey, opened by
    its low scores (or a listed word in its comment). A later change of the answer
    updates the same case and is kept on its history."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        RESOLVED = "resolved", _("Resolved")
        NO_ACTION = "no_action", _("No action needed")

    class Outcome(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        RECOVERED = "recovered", _("Recovered")
        NOT_RECOVERED = "not_recovered", _("Not recovered")

    OPEN_STATUSES = (Status.NEW, Status.CONTACTED)

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="followup")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.UNKNOWN)
    # The low scores (and listed word) that make the case: "CSAT 1 of 5, CES 1 of 7".
    reason = models.CharField(max_length=200)
    # Every score of the survey when the case last looked at them: a change of the
    # answer is put on the history once.
    answers_seen = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    owner_notified_at = models.DateTimeField(null=True, blank=True)
    # Claimed with a conditional UPDATE by the sweep: the team lead is told once.
    escalated_at = models.DateTimeField(null=True, blank=True)
    # "Did we sort it out?": asked once when the case is resolved; the answer sets
    # the outcome. Only the SHA-256 of the link token is kept.
    recovery_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    recovery_sent_at = models.DateTimeField(null=True, blank=True)
    recovery_answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Follow-up for {self.survey.ticket}"

    def get_absolute_url(self) -> str:
        return reverse("followups:followup_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        """The due time is for the first contact: a case still waiting for it past then."""
        return (
            self.status == self.Status.NEW
            and self.due_at is not None
            and self.due_at < timezone.now()
        )

    @property
    def answers(self) -> list:
        """Its survey's answers in the order it asks them (held ones included)."""
        return self.survey.answers

    @property
    def is_held(self) -> bool:
        """An answer of the case is held for review: it may be automated."""
        return any(answer.held for answer in self.answers)

    @classmethod
    def overdue_q(cls, now: datetime) -> models.Q:
        """The cases is_overdue is true of, as a filter."""
        return models.Q(status=cls.Status.NEW, due_at__lt=now)


class FollowUpEvent(models.Model):
    """One line of a case's history: who changed what, and when."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        NOTE = "note", _("Note")
        STATUS = "status", _("Status changed")
        OUTCOME = "outcome", _("Outcome changed")
        OWNER = "owner", _("Reassigned")
        EMAIL = "email", _("Emailed the customer")
        ESCALATED = "escalated", _("Escalated")
        RECOVERY_SENT = "recovery_sent", _("Asked the customer whether it was sorted out")
        RECOVERY_ANSWER = "recovery_answer", _("The customer answered")
        ANSWER = "answer", _("The customer changed the answer")
        DISCARDED = "discarded", _("Held answer discarded")

    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    old = models.CharField(max_length=200, blank=True)
    new = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def old_shown(self) -> str:
        """The value before, as the reader's language names it (a status or outcome)."""
        return self._shown(self.old)

    @property
    def new_shown(self) -> str:
        return self._shown(self.new)

    def _shown(self, value: str) -> str:
        choices = {self.Kind.STATUS: FollowUp.Status, self.Kind.OUTCOME: FollowUp.Outcome}
        names = choices.get(self.kind)
        return str(names(value).label) if names and value in names.values else value


class FollowUpThreshold(models.Model):
    """The highest (normalised) score that opens a case, for one kind and scale.

    Without a row the defaults of surveys.scoring.low_up_to apply.
    """

    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    scale_points = models.PositiveSmallIntegerField(
        help_text=_("5 or 7 for CSAT and CES; 11 for NPS (0-10).")
    )
    low_up_to = models.SmallIntegerField(
        help_text=_("Scores up to and including this one open a case (CES: 1 is hardest).")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "scale_points"], name="one_threshold_per_scale")
        ]

    def __str__(self) -> str:
        return f"{self.kind.upper()} of {self.scale_points}: up to {self.low_up_to}"


class FollowUpWord(models.Model):
    """A word that opens a case when a comment contains it, whatever the score."""

    word = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class TeamServiceLevel(models.Model):
    """How soon a team's cases are due: working hours counted on working days."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="service_level")
    hours = models.PositiveSmallIntegerField(
        default=8, help_text=_("Working hours to the first contact.")
    )
    start = models.TimeField(default=time(8, 0))
    end = models.TimeField(default=time(16, 0))
    weekdays = models.CharField(
        max_length=7, default="12345", help_text=_("ISO weekdays worked: 1 is Monday, 7 Sunday.")
    )

    def __str__(self) -> str:
        return f"{self.team}: {self.hours} h, {self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def weekday_numbers(self) -> frozenset[int]:
        return frozenset(int(c) for c in self.weekdays if c in "1234567")


class FollowUpDigest(models.Model):
    """The daily digest one owner got: the unique row makes a second send impossible."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "day"], name="one_digest_per_owner_day")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.owner} on {self.day}"


class StaffSettings(models.Model):
    """A staff member's own settings: the language of their pages and of the emails
    Kundpuls sends them. Without a choice, pages follow the browser's language, and
    emails the language the browser last asked for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_settings"
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: the language your browser asks for."),
    )
    # What the browser last asked for (Accept-Language), for emails when no choice is made.
    browser_language = models.CharField(max_length=10, blank=True, editable=False)

    class Meta:
        verbose_name = _("staff settings")
        verbose_name_plural = _("staff settings")

    def __str__(self) -> str:
        return str(self.user)


def staff_language(user: Any) -> str:
    """The language of a staff member's pages and emails: their choice, else what their
    browser last asked for, else the site's default."""
    if user is None or getattr(user, "pk", None) is None:
        return settings.LANGUAGE_CODE
    chosen = (
        StaffSettings.objects.filter(user_id=user.pk)
        .values_list("language", "browser_language")
        .first()
    )
    return next((code for code in chosen or () if code), settings.LANGUAGE_CODE)
