from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from surveys.admin import HttpsUrlsMixin
from surveys.queue import enqueue

from . import outbound
from .models import (
    EmailEvent,
    HelpdeskConnection,
    InboundDelivery,
    TicketTokenWrite,
    WebhookDelivery,
    WebhookSubscription,
    WriteBack,
)
from .writeback import writeback_credentials_saved


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


class HelpdeskConnectionForm(forms.ModelForm):
    """The API token is never shown again: left empty, the saved one stays."""

    api_base = HelpdeskConnection._meta.get_field("api_base").formfield(assume_scheme="https")
    api_token = forms.CharField(
        label=_("API token"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Shown never again once saved. Leave empty to keep the saved one."),
    )

    class Meta:
        model = HelpdeskConnection
        exclude: list[str] = []

    def clean_api_token(self) -> str:
        token = self.cleaned_data["api_token"]
        return token or (self.instance.api_token if self.instance.pk else "")


@admin.register(HelpdeskConnection)
class HelpdeskConnectionAdmin(admin.ModelAdmin):
    form = HelpdeskConnectionForm
    list_display = ["provider", "active", "writeback", "setup_page", "created_at"]
    readonly_fields = ["writeback_error", "writeback_error_at"]

    def save_model(
        self, request: HttpRequest, obj: HelpdeskConnection, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        writeback_credentials_saved(connection=obj)

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


@admin.register(WriteBack)
class WriteBackAdmin(admin.ModelAdmin):
    """What was written to the helpdesks: a log, with a way to try failed writes again."""

    list_display = [
        "__str__",
        "survey",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "done_at",
    ]
    list_filter = ["state", "connection__provider"]
    search_fields = ["ticket_id"]
    readonly_fields = [f.name for f in WriteBack._meta.fields]
    actions = ["try_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Try the selected failed writes again"))
    def try_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        failed = queryset.filter(state=WriteBack.State.FAILED)
        ids = list(failed.values_list("pk", flat=True))
        failed.update(
            state=WriteBack.State.PENDING,
            next_attempt_at=timezone.now(),
            attempts=0,
            queued_at=None,
        )
        for writeback_id in ids:
            enqueue("integrations.tasks.writeback_send", writeback_id)
        self.message_user(
            request, _("%(count)d writes queued.") % {"count": len(ids)}, messages.SUCCESS
        )


@admin.register(TicketTokenWrite)
class TicketTokenWriteAdmin(admin.ModelAdmin):
    """The tokens written into helpdesk tickets for signed embedded ratings: a log."""

    list_display = ["__str__", "state", "attempts", "last_status", "last_error", "done_at"]
    list_filter = ["state", "connection__provider"]
    search_fields = ["ticket_id"]
    readonly_fields = [f.name for f in TicketTokenWrite._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
