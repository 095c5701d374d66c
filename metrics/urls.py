from django.urls import path, re_path

from . import scores, views

app_name = "metrics"

urlpatterns = [
    path("scores/", scores.scores, name="scores"),
    path("followups/report/", views.followup_report, name="followup_report"),
    path("reports/", views.dashboard, name="dashboard"),
    path("reports/by-email/", views.digest_settings, name="digest"),
    re_path(
        r"^reports/held/(?P<pk>[0-9]{1,18})/(?P<action>approve|discard)/$",
        views.held_review,
        name="held_review",
    ),
    path("reports/monthly/", views.monthly, name="monthly"),
    path("reports/compare/", views.compare, name="compare"),
    path("reports/business/", views.business, name="business"),
    path("reports/exports/", views.exports_page, name="exports"),
    path("reports/responses/", views.responses, name="responses"),
    re_path(
        r"^reports/responses\.(?P<fmt>csv|xlsx)$", views.responses_export, name="responses_export"
    ),
    re_path(
        r"^reports/tables/(?P<table>[a-z_]+)\.(?P<fmt>csv|xlsx)$",
        views.table_export,
        name="table_export",
    ),
]
