"""Metric rollups (exact counts per bucket) and the business figures of each month."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.models import SurveyKind, Team


class ScoreRollup(models.Model):
    """How many answers had each score, per day answered and dimension.

    Recomputed from the responses (never incremented), so re-running is harmless.
    """

    day = models.DateField()
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    # No foreign key constraints or indexes: reports read a date range, and the
    # nightly rebuild writes every row again, so each index costs more than it saves.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
    )
    team = models.ForeignKey(
        Team, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    channel = models.CharField(max_length=30)
    category = models.CharField(max_length=100)
    scale_points = models.PositiveSmallIntegerField()
    score = models.SmallIntegerField()
    count = models.PositiveIntegerField()
    commented = models.PositiveIntegerField(default=0)

    class Meta:
        # Reports read a date range, all kinds at once, and a refresh one day. The
        # rebuild writes the rows in day order, so an index on the day alone finds
        # them as well, and is built in a fraction of the time of a wider one.
        indexes = [models.Index(fields=["day"], name="metrics_scorerollup_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.score}: {self.count}"


class InvitationRollup(models.Model):
    """How many survey emails reached each step of the funnel, per day sent and dimension.

    One row per step (metrics.funnel.FUNNEL_STEPS), so a new step is one line there
    and needs no new column.
    """

    day = models.DateField()
    # No foreign key constraints or indexes: reports read a date range, and the
    # nightly rebuild writes every row again, so each index costs more than it saves.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
    )
    team = models.ForeignKey(
        Team, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    channel = models.CharField(max_length=30)
    category = models.CharField(max_length=100)
    step = models.CharField(max_length=20)
    count = models.PositiveIntegerField()

    class Meta:
        # As for ScoreRollup: reports read a date range, a refresh one day.
        indexes = [models.Index(fields=["day"], name="metrics_invitationrollup_day")]
        verbose_name = "funnel rollup"

    def __str__(self) -> str:
        return f"{self.day} {self.step}: {self.count}"


class BusinessFigures(models.Model):
    """The customer and money figures an admin enters for one month."""

    month = models.DateField(unique=True, help_text=_("The first day of the month."))
    customers_start = models.PositiveIntegerField(
        _("customers at the start (S)"), help_text=_("Paying customers on the first day.")
    )
    customers_end = models.PositiveIntegerField(
        _("customers at the end (E)"), help_text=_("Paying customers on the last day.")
    )
    customers_new = models.PositiveIntegerField(
        _("new customers (N)"), help_text=_("Customers won during the month.")
    )
    sales_marketing_spend = models.DecimalField(
        _("sales and marketing spend"), max_digits=14, decimal_places=2
    )
    yearly_revenue_per_customer = models.DecimalField(
        _("yearly revenue per customer"), max_digits=14, decimal_places=2
    )
    customer_years = models.DecimalField(
        _("years as a customer"),
        max_digits=6,
        decimal_places=2,
        help_text=_("How many years a customer stays on average."),
    )
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-month"]
        verbose_name = _("business figures")
        verbose_name_plural = _("business figures")

    def __str__(self) -> str:
        return f"Business figures {self.month:%Y-%m}"


class Target(models.Model):
    """The score a team aims for, per metric: for everyone, or for one team (which then
    wins over everyone's). Percent for CSAT, CES and response rate; -100 to 100 for NPS."""

    class Metric(models.TextChoices):
        CSAT = "csat", "CSAT"
        CES = "ces", "CES"
        NPS = "nps", "NPS"
        RESPONSE_RATE = "response_rate", _("Response rate")

    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name=_("team"),
        help_text=_("Empty: everyone's target; a team's own target wins over it."),
    )
    value = models.DecimalField(
        _("target"),
        max_digits=4,
        decimal_places=1,
        help_text=_("Percent (e.g. 85) for CSAT, CES and response rate; -100 to 100 for NPS."),
    )

    class Meta:
        ordering = ["metric", "team__name"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(fields=["metric", "team"], name="target_unique_team"),
            models.UniqueConstraint(
                fields=["metric"], condition=models.Q(team__isnull=True), name="target_unique_all"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.value}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        low = -100 if self.metric == self.Metric.NPS else 0
        if self.value is not None and not low <= self.value <= 100:
            raise ValidationError({"value": _("Between %(low)d and 100.") % {"low": low}})


class DigestSubscription(models.Model):
    """A team lead's or admin's report by email: daily, weekly or monthly."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily (yesterday)")
        WEEKLY = "weekly", _("Weekly (last week, on Mondays)")
        MONTHLY = "monthly", _("Monthly (last month, on the 1st)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_digest"
    )
    frequency = models.CharField(_("how often"), max_length=10, choices=Frequency.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("report digest subscription")
        verbose_name_plural = _("report digest subscriptions")

    def __str__(self) -> str:
        return f"{self.user} {self.frequency}"


class DigestSent(models.Model):
    """One digest for one subscriber and period: the unique row makes a second send of
    the same period impossible however often the sweep runs. Claimed before sending;
    sent_at is set once the mail server took it (a claim left by a worker that died is
    taken again after a while)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=10)
    period_start = models.DateField()
    period_end = models.DateField()
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "frequency", "period_start"], name="one_digest_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.frequency} digest for {self.user} from {self.period_start}"
