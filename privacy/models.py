"""The retention policy and the audit trail of what was done with personal data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RetentionPolicy(models.Model):
    """How long raw personal data is kept; one row, edited in the admin. An empty
    field keeps that data for good. Scores are never deleted: the reports keep their
    numbers (privacy.retention)."""

    comments_months = models.PositiveSmallIntegerField(
        _("comments and notes, months"),
        null=True,
        blank=True,
        help_text=_(
            "Erase the customers' comments and the notes and emails on follow-up cases "
            "this many months after the answer. Empty: keep them."
        ),
    )
    clicks_days = models.PositiveSmallIntegerField(
        _("link clicks, days"),
        null=True,
        blank=True,
        default=90,
        help_text=_("Delete the records of clicks on survey links after this many days."),
    )
    payloads_days = models.PositiveSmallIntegerField(
        _("messages and payloads, days"),
        null=True,
        blank=True,
        default=30,
        help_text=_(
            "Delete the bodies of helpdesk webhooks and outbound webhook deliveries, the "
            "email provider's events and the development outbox after this many days."
        ),
    )
    tickets_years = models.PositiveSmallIntegerField(
        _("tickets, years"),
        null=True,
        blank=True,
        help_text=_(
            "Erase everything personal about a ticket this many years after it was "
            "solved: its subject and tags, its answers' comments, its case's notes, and "
            "its customer when no newer ticket is theirs. Its scores stay in the reports."
        ),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policy")

    def __str__(self) -> str:
        return str(_("Retention policy"))

    @classmethod
    def load(cls) -> RetentionPolicy:
        return cls.objects.order_by("pk").first() or cls.objects.create()


class AuditEvent(models.Model):
    """Who erased or exported a customer's data, changed the retention policy or
    signed in, and when. It names a customer by their row's number only: never an
    address, a name or a comment."""

    class Action(models.TextChoices):
        ERASED = "erased", _("Erased a customer's data")
        EXPORTED = "exported", _("Exported a customer's data")
        RETENTION_CHANGED = "retention_changed", _("Changed the retention policy")
        RETENTION_APPLIED = "retention_applied", _("Applied the retention policy")
        SIGNED_IN = "signed_in", _("Signed in")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    # A staff member, or an API key's name, or "system" for the nightly job.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200)
    via = models.CharField(max_length=20)  # admin, api, command, job, sign-in page
    customer_id = models.BigIntegerField(null=True, blank=True)
    # Counts of what was done (rows erased per kind, fields changed): never the data.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"
