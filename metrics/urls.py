from django.contrib.auth.views import LoginView
from django.urls import path, re_path

from . import api, scores, views

app_name = "metrics"

urlpatterns = [
    path(
        "login/",
        LoginView.as_view(template_name="metrics/followup_login.html", next_page="metrics:inbox"),
        name="login",
    ),
    # The customer's "Did we sort it out?" page: public, by link token.
    path("r/<str:token>/", views.recovery, name="recovery"),
    path("r/<str:token>/thanks/", views.recovery_thanks, name="recovery_thanks"),
    path("followups/", views.inbox, name="inbox"),
    path("scores/", scores.scores, name="scores"),
    path("followups/report/", views.followup_report, name="followup_report"),
    path("followups/<int:pk>/", views.followup_detail, name="followup_detail"),
    path("followups/<int:pk>/note/", views.followup_note, name="followup_note"),
    path("followups/<int:pk>/email/", views.followup_email, name="followup_email"),
    path("followups/<int:pk>/reassign/", views.followup_reassign, name="followup_reassign"),
    # Beside GET /api/v1/followups (config/urls.py); key-authenticated like it.
    path("api/v1/followups/<int:pk>", api.followup_update, name="api_followup"),
    path("reports/", views.dashboard, name="dashboard"),
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
