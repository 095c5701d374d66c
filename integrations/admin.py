from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from surveys.admin import HttpsUrlsMixin
from surveys.queue import enqueue

from . import outbound
from .models import (
    EmailEvent,
    HelpdeskConnection,
    InboundDelivery,
    WebhookDelivery,
    WebhookSubscription,
)


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    """What the email provider reported, as received: a log, not editable."""

    list_display = ["occurred_at", "esp_name", "event_type", "recipient", "description"]
    list_filter = ["event_type", "esp_name", "occurred_at"]
    search_fields = ["recipient", "message_id", "event_id"]
    readonly_fields = [f.name for f in EmailEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HelpdeskConnection)
class HelpdeskConnectionAdmin(admin.ModelAdmin):
    list_display = ["provider", "active", "setup_page", "created_at"]

    @admin.display(description="Setup")
    def setup_page(self, obj: HelpdeskConnection) -> str:
        url = reverse("integrations:setup_helpdesk", args=[obj.provider])
        return format_html('<a href="{}">Setup steps</a>', url)


@admin.register(InboundDelivery)
class InboundDeliveryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "received_at", "processed_at", "attempts", "error"]
    list_filter = ["provider", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["ticket_id", "account"]
    readonly_fields = [f.name for f in InboundDelivery._meta.fields]
    actions = ["process_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Process the selected deliveries again")
    def process_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        queryset.update(processed_at=None, attempts=0, error="")
        for delivery_id in ids:
            enqueue("integrations.tasks.inbound_delivery_process", delivery_id)
        self.message_user(request, f"{len(ids)} deliveries queued.", messages.SUCCESS)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(HttpsUrlsMixin, admin.ModelAdmin):
    list_display = ["url", "format", "team", "events", "active", "failing_since", "created_at"]
    list_filter = ["active", "format", "team"]
    readonly_fields = ["failing_since", "created_at"]

    def save_model(
        self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool
    ) -> None:
        if not obj.secret:
            obj.secret = outbound.secret_new()
        if "active" in form.changed_data and obj.active:
            obj.failing_since = None  # switched on again: a fresh day before giving up
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "subscription",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
    ]
    list_filter = ["state", "event_type"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
