from django.contrib import admin

from .models import FollowUp, InvitationRollup, ScoreRollup


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["invitation", "owner", "status", "reason", "created_at", "owner_notified_at"]
    list_filter = ["status", "invitation__kind"]
    raw_id_fields = ["invitation", "owner"]


@admin.register(ScoreRollup)
class ScoreRollupAdmin(admin.ModelAdmin):
    list_display = ["day", "kind", "agent", "team", "channel", "category", "score", "count"]
    list_filter = ["kind", "channel"]


@admin.register(InvitationRollup)
class InvitationRollupAdmin(admin.ModelAdmin):
    list_display = ["day", "kind", "agent", "team", "channel", "category", "delivered", "answered"]
    list_filter = ["kind", "channel"]
