from django.contrib import admin

from .models import (
    Agent,
    ApiKey,
    Customer,
    Invitation,
    OutboxMessage,
    Response,
    ResponseRevision,
    SurveyPolicy,
    Team,
    Ticket,
)


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
    list_display = ["email", "name", "locale", "opted_out_at"]
    list_filter = ["locale", ("opted_out_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name"]


class InvitationInline(admin.TabularInline):
    model = Invitation
    fields = ["kind", "state", "reason", "send_after", "sent_at", "attempts"]
    readonly_fields = fields
    extra = 0
    can_delete = False


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
    inlines = [InvitationInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "state", "reason", "send_after", "sent_at", "attempts"]
    list_filter = ["state", "kind", "locale", "channel"]
    search_fields = ["ticket__external_id", "customer__email"]
    raw_id_fields = ["ticket", "customer", "agent"]
    exclude = ["token_hash"]


class RevisionInline(admin.TabularInline):
    model = ResponseRevision
    readonly_fields = ["raw_score", "comment", "submitted_at"]
    extra = 0
    can_delete = False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["invitation", "raw_score", "score", "answered_at", "processed_at"]
    list_filter = ["invitation__kind", "answered_at"]
    search_fields = ["invitation__ticket__external_id", "comment"]
    raw_id_fields = ["invitation"]
    inlines = [RevisionInline]


@admin.register(SurveyPolicy)
class SurveyPolicyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return not SurveyPolicy.objects.exists()


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "created_at"]
    search_fields = ["to", "subject"]
