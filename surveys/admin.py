from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.html import format_html

from . import answering, services
from .models import (
    Agent,
    ApiKey,
    Category,
    Customer,
    Invitation,
    LinkClick,
    OutboxMessage,
    QuestionText,
    Reason,
    Response,
    ResponseRevision,
    Survey,
    SurveyPolicy,
    Team,
    Ticket,
)

# Logos are kept in the database and shown in every email: small and plain images.
LOGO_MAX_BYTES = 200 * 1024
LOGO_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team"]
    list_filter = ["team"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "locale", "opted_out_at", "suppressed_at", "suppressed_reason"]
    list_filter = [
        "locale",
        ("opted_out_at", admin.EmptyFieldListFilter),
        ("suppressed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email", "name"]
    # Set from the email provider's bounce and complaint events; cleared by the action.
    readonly_fields = ["suppressed_at", "suppressed_reason"]
    actions = ["clear_suppression"]

    @admin.action(description="Clear the suppression (send surveys to these addresses again)")
    def clear_suppression(self, request: HttpRequest, queryset: QuerySet) -> None:
        customers = list(queryset.filter(suppressed_at__isnull=False))
        for customer in customers:
            services.customer_unsuppress(customer=customer)
        self.message_user(
            request,
            f"{len(customers)} addresses get survey emails again, from their next survey on.",
            messages.SUCCESS if customers else messages.WARNING,
        )


class SurveyInline(admin.TabularInline):
    model = Survey
    fields = ["state", "reason", "send_after", "sent_at", "attempts"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "subject",
        "status",
        "channel",
        "category",
        "assignee",
        "team",
        "solved_at",
    ]
    list_filter = ["status", "source", "channel", "category", "team"]
    search_fields = ["external_id", "subject", "requester__email"]
    raw_id_fields = ["requester", "assignee"]
    inlines = [SurveyInline]


class ClicksFilter(admin.SimpleListFilter):
    title = "link clicks"
    parameter_name = "clicks"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("person", "Clicked by a person"),
            ("bot", "Filtered as bot"),
            ("none", "No click"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "person":
            return queryset.filter(first_clicked_at__isnull=False)
        if self.value() == "bot":
            return queryset.filter(bot_suspect_at__isnull=False)
        if self.value() == "none":
            return queryset.filter(first_clicked_at__isnull=True, bot_suspect_at__isnull=True)
        return queryset


class LinkClickInline(admin.TabularInline):
    model = LinkClick
    fields = ["at", "method", "link", "score", "automated_reason", "agent_key"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


def _email_clicks(automated: bool | None = None) -> Coalesce:
    """Fetches of the links of a survey's email."""
    clicks = LinkClick.objects.filter(survey=OuterRef("pk"))
    if automated is not None:
        clicks = (
            clicks.exclude(automated_reason="") if automated else clicks.filter(automated_reason="")
        )
    counted = clicks.order_by().values("survey").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)


class InvitationInline(admin.TabularInline):
    """A survey's questions: what was asked, on which scale."""

    model = Invitation
    fields = ["kind", "scale_points", "inverted"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = [
        "ticket",
        "kinds",
        "state",
        "reason",
        "sent_at",
        "delivered_at",
        "bounced_at",
        "reminded_at",
        "first_clicked_at",
        "bot_suspect",
        "clicks",
        "clicks_filtered",
    ]
    list_filter = [
        "state",
        ClicksFilter,
        ("bot_suspect_at", admin.EmptyFieldListFilter),
        ("reminded_at", admin.EmptyFieldListFilter),
        ("bounced_at", admin.EmptyFieldListFilter),
        ("complained_at", admin.EmptyFieldListFilter),
        "invitations__kind",
        "locale",
        "channel",
    ]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["ticket__external_id", "customer__email"]
    raw_id_fields = ["ticket", "customer"]
    exclude = ["link_key"]
    readonly_fields = [
        "delivered_at",
        "bounced_at",
        "complained_at",
        "message_id",
        "reminder_message_id",
        "reminded_at",
        "first_clicked_at",
        "bot_suspect_at",
        "bot_suspect_reason",
        # Credit stays where it was at solve time, and the answers keep a copy of
        # these: changing them here would move scores behind the reports' back.
        "agent",
        "team",
        "channel",
        "category",
    ]
    inlines = [InvitationInline, LinkClickInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a solved ticket schedules its survey

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("ticket")
            .prefetch_related("invitations")
            .annotate(
                email_clicks=_email_clicks(),
                email_clicks_filtered=_email_clicks(automated=True),
            )
        )

    @admin.display(description="questions")
    def kinds(self, obj: Survey) -> str:
        return ", ".join(question.kind.upper() for question in obj.questions)

    @admin.display(boolean=True, description="bot suspect", ordering="bot_suspect_at")
    def bot_suspect(self, obj: Survey) -> bool:
        return obj.is_bot_suspect

    @admin.display(description="link clicks", ordering="email_clicks")
    def clicks(self, obj: Survey) -> int:
        return obj.email_clicks

    @admin.display(description="filtered as bot", ordering="email_clicks_filtered")
    def clicks_filtered(self, obj: Survey) -> int:
        return obj.email_clicks_filtered


class AutomatedFilter(admin.SimpleListFilter):
    title = "filtered as bot"
    parameter_name = "automated"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.exclude(automated_reason="")
        if self.value() == "no":
            return queryset.filter(automated_reason="")
        return queryset


@admin.register(LinkClick)
class LinkClickAdmin(admin.ModelAdmin):
    list_display = ["at", "survey", "method", "link", "score", "automated_reason"]
    list_filter = [AutomatedFilter, "link", "method", "at"]
    show_facets = admin.ShowFacets.ALWAYS
    raw_id_fields = ["survey"]
    readonly_fields = ["survey", "at", "method", "link", "score", "agent_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class RevisionInline(admin.TabularInline):
    model = ResponseRevision
    readonly_fields = ["raw_score", "comment", "reasons", "submitted_at"]
    extra = 0
    can_delete = False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = [
        "invitation",
        "raw_score",
        "score",
        "answered_at",
        "held",
        "held_reason",
        "processed_at",
    ]
    list_filter = ["held", "invitation__kind", "answered_at"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["invitation__survey__ticket__external_id", "comment"]
    # The customer's answer as they gave it: an admin approves or discards a held
    # one with the actions, and edits none by hand.
    readonly_fields = [
        "invitation",
        "raw_score",
        "score",
        "comment",
        "answered_at",
        "updated_at",
        "processed_at",
        "held",
        "held_reason",
        "released_at",
        "reasons_given",
    ]
    inlines = [RevisionInline]
    actions = ["approve", "discard"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="reasons")
    def reasons_given(self, obj: Response) -> str:
        return "; ".join(reason.label for reason in obj.reasons.all()) or "-"

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        answering.responses_delete(response_ids=list(queryset.values_list("pk", flat=True)))

    def delete_model(self, request: HttpRequest, obj: Response) -> None:
        answering.responses_delete(response_ids=[obj.pk])

    @admin.action(description="Approve the selected held answers (count them)")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        released = answering.responses_release(
            response_ids=list(queryset.filter(held=True).values_list("pk", flat=True))
        )
        self.message_user(request, f"{released} held answers approved: they count now.")

    @admin.action(description="Discard the selected held answers (reopen their survey)")
    def discard(self, request: HttpRequest, queryset: QuerySet) -> None:
        deleted = answering.responses_discard(
            response_ids=list(queryset.filter(held=True).values_list("pk", flat=True))
        )
        level = messages.SUCCESS if deleted else messages.WARNING
        self.message_user(request, f"{deleted} held answers discarded.", level)


class HttpsUrlsMixin:
    """URL fields without a scheme are read as https:// (not Django's http://)."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# The admin builds its form with HttpsUrlsMixin.formfield_for_dbfield, but
# SurveyPolicyForm's own fields are made when the class is defined: without this
# callback, that makes a URLField without assume_scheme and Django 5 warns
# (RemovedInDjango60Warning) on every start.
def _https_urls(field: Any, **kwargs: Any) -> Any:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class SurveyPolicyForm(forms.ModelForm):
    logo_upload = forms.FileField(
        required=False,
        label="Logo",
        help_text="PNG, JPEG or GIF up to 200 KB, about 160 by 40 px; shown in emails and "
        "survey pages, served by Kundpuls itself.",
    )
    logo_remove = forms.BooleanField(required=False, label="Remove the logo")

    class Meta:
        model = SurveyPolicy
        fields = "__all__"  # noqa: DJ007 -- the policy is one row of settings, all editable
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        formfield_callback = _https_urls

    def clean_logo_upload(self) -> Any:
        upload = self.cleaned_data.get("logo_upload")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError("The logo must be at most 200 KB.")
        data = upload.read()
        content_type = next((t for magic, t in LOGO_TYPES.items() if data.startswith(magic)), "")
        if not content_type:
            raise forms.ValidationError("The logo must be a PNG, JPEG or GIF image.")
        return data, content_type

    def save(self, commit: bool = True) -> SurveyPolicy:
        policy = super().save(commit=False)
        if self.cleaned_data.get("logo_remove"):
            policy.logo, policy.logo_type = b"", ""
        elif self.cleaned_data.get("logo_upload"):
            policy.logo, policy.logo_type = self.cleaned_data["logo_upload"]
        if commit:
            policy.save()
        return policy


@admin.register(SurveyPolicy)
class SurveyPolicyAdmin(HttpsUrlsMixin, admin.ModelAdmin):
    form = SurveyPolicyForm
    readonly_fields = ["logo_preview"]
    fieldsets = [
        (
            "Your company",
            {
                "fields": [
                    "company_name",
                    "website_url",
                    "brand_color",
                    "logo_preview",
                    "logo_upload",
                    "logo_remove",
                ]
            },
        ),
        (
            "Questions",
            {
                "fields": [
                    "csat_scale",
                    "csat_style",
                    "ces_enabled",
                    "ces_scale",
                    "ces_inverted",
                    "nps_enabled",
                    "nps_interval_days",
                ]
            },
        ),
        (
            "Sending",
            {
                "fields": [
                    "throttle_days",
                    "reminder_days",
                    "answer_days",
                    "edit_days",
                    "excluded_tags",
                    "internal_domains",
                    "recovery_survey",
                ]
            },
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SurveyPolicy.objects.exists()

    @admin.display(description="Current logo")
    def logo_preview(self, obj: SurveyPolicy) -> str:
        from .emails import brand_context

        url = brand_context(obj)["logo_url"]
        if not url:
            return "(none: the company name is shown instead)"
        return format_html('<img src="{}" alt="" style="max-height:48px">', url)


@admin.register(QuestionText)
class QuestionTextAdmin(admin.ModelAdmin):
    list_display = ["kind", "language", "text"]
    list_filter = ["kind", "language"]
    search_fields = ["text"]


# The languages a reason's label is translated into (English is the label itself).
TRANSLATED_LANGUAGES = [(code, name) for code, name in settings.LANGUAGES if code != "en"]


def _translation_field(language: str) -> forms.CharField:
    return forms.CharField(
        label=f"Label ({language})",
        max_length=100,
        required=False,
        help_text="Empty: the built-in translation of a default label, else the English one.",
    )


class ReasonForm(forms.ModelForm):
    """A reason with one text box per language, kept in its translations."""

    label_sv = _translation_field("Swedish")
    label_nb = _translation_field("Norwegian Bokmål")
    label_da = _translation_field("Danish")
    label_fi = _translation_field("Finnish")
    label_fy = _translation_field("West Frisian")

    class Meta:
        model = Reason
        fields = ["kind", "code", "label", "position", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translations = self.instance.translations or {}
        for code, _name in TRANSLATED_LANGUAGES:
            self.fields[f"label_{code}"].initial = translations.get(code, "")

    def save(self, commit: bool = True) -> Reason:
        self.instance.translations = {
            code: self.cleaned_data[f"label_{code}"].strip()
            for code, _name in TRANSLATED_LANGUAGES
            if self.cleaned_data[f"label_{code}"].strip()
        }
        return super().save(commit=commit)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """Ticket categories: tickets match one whatever its case and spacing; its name is
    what the reports show, and an admin may change it."""

    list_display = ["name", "key", "created_at"]
    search_fields = ["name", "key"]
    readonly_fields = ["key", "created_at"]
    fields = ["name", "key", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the tickets that carry them


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    """Reasons are offered after a low score of their question. One that answers
    carry cannot be deleted: untick Active (or use the action) to stop offering it."""

    form = ReasonForm
    list_display = ["label", "kind", "code", "position", "active", "answers"]
    list_editable = ["position", "active"]
    list_filter = ["kind", "active"]
    ordering = ["kind", "position", "pk"]
    search_fields = ["label", "code"]
    actions = ["deactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(answer_count=Count("response_reasons"))

    @admin.display(description="answers", ordering="answer_count")
    def answers(self, obj: Reason) -> int:
        return obj.answer_count

    def get_fieldsets(self, request: HttpRequest, obj: Reason | None = None) -> Any:
        translated = [f"label_{code}" for code, _name in TRANSLATED_LANGUAGES]
        return [
            (None, {"fields": ["kind", "code", "label", "position", "active"]}),
            ("Translations", {"fields": translated}),
        ]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a reason with answers is retired instead
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Reason | None = None) -> bool:
        if obj is not None and obj.response_reasons.exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Deactivate the selected reasons (no longer offered)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        for reason in queryset.filter(active=True):
            reason.active = False
            reason.save(update_fields=["active"])  # post_save drops the cached reasons
        self.message_user(request, "The selected reasons are no longer offered.")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made here by name; the key itself is shown once, on the page that
    follows, and only its hash is kept. Revoking is an action, never a delete, so
    the key's history stays."""

    list_display = ["name", "prefix", "admin", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "admin"]
    search_fields = ["name", "prefix"]
    fields = ["name", "admin", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        from .api_auth import api_key_create

        key, plain = api_key_create(name=obj.name, admin=obj.admin)
        obj.pk, obj.prefix, obj.created_at = key.pk, key.prefix, key.created_at
        request._api_key_plain = plain  # shown once by response_add

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None):
        from django.shortcuts import render

        context = {
            **self.admin_site.each_context(request),
            "title": f"API key “{obj.name}” created",
            "key": obj,
            "plain": request._api_key_plain,
            "opts": self.model._meta,
        }
        response = render(request, "admin/surveys/apikey_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} API keys revoked.", messages.SUCCESS)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "created_at"]
    search_fields = ["to", "subject"]
