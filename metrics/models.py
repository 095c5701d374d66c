"""Metric rollups and the follow-up cases opened for low scores."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.models import Invitation, SurveyKind, Team


class FollowUp(models.Model):
    """A low score someone should call back about: one per invitation."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        RESOLVED = "resolved", _("Resolved")
        NO_ACTION = "no_action", _("No action needed")

    OPEN_STATUSES = (Status.NEW, Status.CONTACTED)

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="followup")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    owner_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Follow-up for {self.invitation.ticket}"

    def get_absolute_url(self) -> str:
        return reverse("metrics:followup_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class ScoreRollup(models.Model):
    """How many answers had each score, per day answered and dimension.

    Recomputed from the responses (never incremented), so re-running is harmless.
    """

    day = models.DateField()
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, db_constraint=False
    )
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE, db_constraint=False)
    channel = models.CharField(max_length=30)
    category = models.CharField(max_length=100)
    scale_points = models.PositiveSmallIntegerField()
    score = models.SmallIntegerField()
    count = models.PositiveIntegerField()
    commented = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["kind", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.score}: {self.count}"


class InvitationRollup(models.Model):
    """Invitations delivered and answered, per day sent and dimension."""

    day = models.DateField()
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, db_constraint=False
    )
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE, db_constraint=False)
    channel = models.CharField(max_length=30)
    category = models.CharField(max_length=100)
    delivered = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["kind", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.answered}/{self.delivered}"
