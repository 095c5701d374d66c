from django.urls import path

from . import views, webhooks

app_name = "surveys"

urlpatterns = [
    path("s/<str:token>/", views.survey, name="survey"),
    path("s/<str:token>/thanks/", views.thanks, name="thanks"),
    path("s/<str:token>/h/", views.honeypot, name="honeypot"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("brand/logo/<str:version>/", views.logo, name="logo"),
    path("dev/outbox/", views.outbox, name="outbox"),
    path("dev/outbox/<int:pk>/", views.outbox_message, name="outbox_message"),
    path("hooks/zendesk/", webhooks.zendesk, name="hooks_zendesk"),
    path("hooks/freshdesk/", webhooks.freshdesk, name="hooks_freshdesk"),
    path("hooks/hubspot/", webhooks.hubspot, name="hooks_hubspot"),
    path("hooks/helpscout/", webhooks.helpscout, name="hooks_helpscout"),
    path("hooks/intercom/", webhooks.intercom, name="hooks_intercom"),
    path("setup/", webhooks.integrations, name="integrations"),
    path("setup/<str:provider>/", webhooks.setup, name="setup_helpdesk"),
]
