from django.urls import path

from . import webhooks

app_name = "integrations"

urlpatterns = [
    path("hooks/zendesk/", webhooks.zendesk, name="hooks_zendesk"),
    path("hooks/freshdesk/", webhooks.freshdesk, name="hooks_freshdesk"),
    path("hooks/hubspot/", webhooks.hubspot, name="hooks_hubspot"),
    path("hooks/helpscout/", webhooks.helpscout, name="hooks_helpscout"),
    path("hooks/intercom/", webhooks.intercom, name="hooks_intercom"),
    path("setup/", webhooks.integrations, name="integrations"),
    path("setup/<str:provider>/", webhooks.setup, name="setup_helpdesk"),
]
