from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    FollowUp,
    FollowUpEvent,
    FollowUpThreshold,
    FollowUpWord,
    TeamServiceLevel,
)


class FollowUpEventInline(admin.TabularInline):
    model = FollowUpEvent
    extra = 0
    readonly_fields = ["at", "kind", "actor", "old", "new", "text"]
    can_delete = False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = [
        "survey",
        "owner",
        "status",
        "outcome",
        "reason",
        "created_at",
        "due_at",
        "escalated_at",
        "recovery_sent_at",
        "recovery_answered_at",
    ]
    list_filter = ["status", "outcome", "survey__invitations__kind"]
    # A case is worked on its own page ("View on site"), where each change goes on its
    # history and resolving it asks the customer "Did we sort it out?": here it is
    # shown, not changed.
    inlines = [FollowUpEventInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in FollowUp._meta.concrete_fields if not field.primary_key]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(FollowUpThreshold)
class FollowUpThresholdAdmin(admin.ModelAdmin):
    list_display = ["kind", "scale_points", "low_up_to"]


@admin.register(FollowUpWord)
class FollowUpWordAdmin(admin.ModelAdmin):
    list_display = ["word"]
    search_fields = ["word"]


@admin.register(TeamServiceLevel)
class TeamServiceLevelAdmin(admin.ModelAdmin):
    list_display = ["team", "hours", "start", "end", "weekdays"]
