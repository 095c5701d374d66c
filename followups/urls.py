from django.contrib.auth.views import LoginView
from django.urls import path

from . import account, api, views

app_name = "followups"

urlpatterns = [
    path(
        "login/",
        LoginView.as_view(template_name="followups/followup_login.html", next_page="home"),
        name="login",
    ),
    # The customer's "Did we sort it out?" page: public, by link token.
    path("r/<str:token>/", views.recovery, name="recovery"),
    path("r/<str:token>/thanks/", views.recovery_thanks, name="recovery_thanks"),
    path("me/", account.account, name="account"),
    path("followups/", views.inbox, name="inbox"),
    path("followups/<int:pk>/", views.followup_detail, name="followup_detail"),
    path("followups/<int:pk>/note/", views.followup_note, name="followup_note"),
    path("followups/<int:pk>/email/", views.followup_email, name="followup_email"),
    path("followups/<int:pk>/reassign/", views.followup_reassign, name="followup_reassign"),
    # Beside GET /api/v1/followups (config/urls.py); key-authenticated like it.
    path("api/v1/followups/<int:pk>", api.followup_update, name="api_followup"),
]
