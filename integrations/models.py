"""The helpdesks, outbound webhooks and email provider Kundpuls talks to, and what
they sent or were sent."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.models import Survey, Team


class HelpdeskProvider(models.TextChoices):
    ZENDESK = "zendesk", "Zendesk"
    FRESHDESK = "freshdesk", "Freshdesk"
    HUBSPOT = "hubspot", "HubSpot"
    HELPSCOUT = "helpscout", "Help Scout"
    INTERCOM = "intercom", "Intercom"


class HelpdeskConnection(models.Model):
    """The webhook secret of one helpdesk; without a row, the environment's is used."""

    provider = models.CharField(max_length=20, choices=HelpdeskProvider.choices, unique=True)
    # Zendesk: the webhook's signing secret. Freshdesk: the token sent in X-Kundpuls-Token.
    # HubSpot: the app's client secret.
    secret = models.CharField(max_length=200)
    # An API token, to read tickets through the helpdesk's API. HubSpot: a private
    # app's access token (the ticket and its contact). Zendesk: an API token, with the
    # agent's email in api_user (the ticket's metrics). Freshdesk: an agent's API key
    # (the ticket's stats and replies).
    api_token = models.CharField(max_length=200, blank=True)
    api_user = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            "Zendesk: the email of the API token's agent. Intercom: the id of the admin "
            "who writes the notes."
        ),
    )
    active = models.BooleanField(default=True)
    # Write-back: each answer goes into its ticket as an internal note, tags and a field.
    writeback = models.BooleanField(
        _("write answers back"),
        default=False,
        help_text=_("Put each answer on its ticket: an internal note, tags and the score field."),
    )
    api_base = models.URLField(
        _("API address"),
        max_length=300,
        blank=True,
        help_text=_(
            "Zendesk: https://yourcompany.zendesk.com. Freshdesk: "
            "https://yourcompany.freshdesk.com. The others: leave empty."
        ),
    )
    # Zendesk: the custom field's id. Freshdesk: its name (cf_...). HubSpot: the ticket
    # property's internal name. Empty: no field, the note and tags only.
    score_field = models.CharField(
        _("score field"),
        max_length=100,
        blank=True,
        help_text=_(
            "Zendesk: the id of a numeric custom ticket field. Freshdesk: the field's name "
            "(cf_...). HubSpot: a ticket property's internal name. Empty: note and tags only."
        ),
    )
    # Embedded: the rating buttons go into the helpdesk's own solved email (a snippet on
    # the setup page) and Kundpuls sends no survey email of its own for its tickets.
    embedded = models.CharField(
        _("rating buttons in the helpdesk's email"),
        max_length=10,
        blank=True,
        default="",
        choices=[
            ("", _("No: Kundpuls emails its own survey")),
            ("signed", _("Yes, signed: each ticket carries a token Kundpuls writes into it")),
            ("unsigned", _("Yes, unsigned: the links carry only the ticket id")),
        ],
    )
    # Signed: the ticket field Kundpuls writes each ticket's token into (Zendesk: a text
    # field's id; Freshdesk: its name, cf_...; HubSpot: a ticket property's name).
    token_field = models.CharField(_("token field"), max_length=100, blank=True)
    # Why writing back stopped (a refused token): shown on the integrations page; no
    # write is tried while it is set, and saving the credentials again clears it.
    writeback_error = models.CharField(max_length=500, blank=True, editable=False)
    writeback_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider"]
        verbose_name = _("helpdesk connection")

    def __str__(self) -> str:
        return self.get_provider_display()


class InboundDelivery(models.Model):
    """One webhook call from a helpdesk, kept raw until a worker has ingested it.

    The unique key makes a helpdesk's retries (and replays) of the same solve one row.
    """

    provider = models.CharField(max_length=20, choices=HelpdeskProvider.choices)
    account = models.CharField(max_length=100, blank=True)
    ticket_id = models.CharField(max_length=100)
    solved_at = models.DateTimeField()
    body = models.TextField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # When a sweep last put it on the queue (surveys.queue.queue_due).
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "account", "ticket_id", "solved_at"],
                name="inbound_delivery_unique_solve",
            )
        ]
        indexes = [models.Index(fields=["processed_at", "received_at"])]
        verbose_name_plural = _("inbound deliveries")

    def __str__(self) -> str:
        return f"{self.provider} #{self.ticket_id} at {self.solved_at:%Y-%m-%d %H:%M:%S}"


class WebhookSubscription(models.Model):
    """A URL that is sent Kundpuls events, signed the Standard Webhooks way.

    A Slack or Microsoft Teams incoming webhook is a subscription too: the same
    delivery, retry and log, with the body written as a chat message.
    """

    class Format(models.TextChoices):
        STANDARD = "standard", _("Standard Webhooks (JSON event)")
        SLACK = "slack", _("Slack incoming webhook")
        TEAMS = "teams", _("Microsoft Teams incoming webhook")

    url = models.URLField(max_length=500)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.STANDARD)
    # Only events about this team's tickets (none: every team's).
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    events = models.JSONField(default=list)
    # whsec_ + base64 of the signing key; shown once, when the subscription is made.
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    # When deliveries began to fail; a day of failing disables the subscription.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscription, retried with backoff for up to a day."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The webhook-id header: the same on every retry, so receivers can deduplicate.
    message_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    # The survey the event is about: its body goes when the customer's data is erased.
    survey = models.ForeignKey(
        Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a sweep last put it on the queue (surveys.queue.queue_due).
    queued_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "message_id"], name="webhook_delivery_unique_message"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} to {self.subscription}"


class EmailEvent(models.Model):
    """One tracking event from the email provider (delivered, bounced, complained...).

    Kept as received; the unique key makes a provider's retries of one event one row.
    """

    esp_name = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=20)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    recipient = models.CharField(max_length=254, blank=True)
    description = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["esp_name", "event_id"],
                condition=~models.Q(event_id=""),
                name="email_event_unique_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.esp_name} {self.event_type} {self.recipient}"


class HelpdeskWrite(models.Model):
    """A call Kundpuls owes a helpdesk ticket, kept until it is made: claimed with a
    conditional UPDATE, tried again with backoff (next_attempt_at) by the sweep."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Written")
        FAILED = "failed", _("Failed")

    # The helpdesk's ticket (or conversation) id.
    ticket_id = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a sweep last put it on the queue (surveys.queue.queue_due).
    queued_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class WriteBack(HelpdeskWrite):
    """One write of a survey's answers into its helpdesk ticket: an internal note, the
    tags and the score field. A survey has at most one waiting write: answers recorded
    or changed while it waits are written by it, read when it is sent. A later change
    is a new write, whose note says what changed."""

    connection = models.ForeignKey(
        HelpdeskConnection, on_delete=models.CASCADE, related_name="writebacks"
    )
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    # The steps already done ("note", "fields"), so a retry never repeats one.
    steps_done = models.JSONField(default=list, blank=True)
    # What this write put on the ticket (scores, comment, reasons, tags), read at
    # sending; the next write's note says what changed against it.
    written = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "survey"],
                condition=models.Q(state="pending"),
                name="writeback_one_waiting_per_survey",
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        verbose_name = _("write-back")
        verbose_name_plural = _("write-backs")

    def __str__(self) -> str:
        return f"{self.connection} #{self.ticket_id} ({self.get_state_display()})"


class TicketTokenWrite(HelpdeskWrite):
    """The token of one ticket, written into its helpdesk ticket field when Kundpuls
    first hears of the ticket (signed embedded ratings)."""

    connection = models.ForeignKey(
        HelpdeskConnection, on_delete=models.CASCADE, related_name="token_writes"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "ticket_id"], name="token_write_once_per_ticket"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        verbose_name = _("ticket token write")

    def __str__(self) -> str:
        return f"{self.connection} #{self.ticket_id} token ({self.get_state_display()})"
