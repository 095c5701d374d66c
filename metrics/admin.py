from django.contrib import admin

from .models import (
    BusinessFigures,
    InvitationRollup,
    ScoreRollup,
    Target,
)


@admin.register(ScoreRollup)
class ScoreRollupAdmin(admin.ModelAdmin):
    list_display = ["day", "kind", "agent", "team", "channel", "category", "score", "count"]
    list_filter = ["kind", "channel"]


@admin.register(InvitationRollup)
class InvitationRollupAdmin(admin.ModelAdmin):
    list_display = ["day", "agent", "team", "channel", "category", "step", "count"]
    list_filter = ["step", "channel"]


@admin.register(BusinessFigures)
class BusinessFiguresAdmin(admin.ModelAdmin):
    list_display = [
        "month",
        "customers_start",
        "customers_end",
        "customers_new",
        "sales_marketing_spend",
        "updated_by",
    ]
    raw_id_fields = ["updated_by"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    """Targets shown beside each score on the dashboard and the scores page."""

    list_display = ["metric", "team", "value"]
    list_filter = ["metric", "team"]
