"""The write-back settings of one helpdesk connection, on its setup page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import HelpdeskConnection, HelpdeskProvider


class WriteBackForm(forms.ModelForm):
    """Switch write-back on and give the API's credentials. The token is never shown
    again: left empty, the saved one stays."""

    api_base = HelpdeskConnection._meta.get_field("api_base").formfield(assume_scheme="https")
    api_token = forms.CharField(
        label=_("API token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = HelpdeskConnection
        fields = [
            "writeback",
            "api_base",
            "api_user",
            "api_token",
            "score_field",
            "embedded",
            "token_field",
        ]

    def __init__(self, *args: Any, provider: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        saved = bool(self.instance.pk and self.instance.api_token)
        self.fields["api_token"].help_text = (
            _("A token is saved. Leave empty to keep it; type a new one to replace it.")
            if saved
            else TOKEN_HELP[provider]
        )
        self.fields["api_user"].label = USER_LABEL.get(provider, _("API user"))
        if provider not in USER_LABEL:
            del self.fields["api_user"]
        else:
            self.fields["api_user"].help_text = USER_HELP[provider]
        self.fields["api_base"].help_text = BASE_HELP[provider]
        if provider in FIELD_HELP:
            self.fields["score_field"].help_text = FIELD_HELP[provider]
        else:
            del self.fields["score_field"]
        if provider in TOKEN_FIELD_HELP:
            self.fields["token_field"].help_text = TOKEN_FIELD_HELP[provider]
            self.fields["embedded"].widget.attrs["class"] = "form-select"
        else:
            del self.fields["embedded"], self.fields["token_field"]

    def clean_api_token(self) -> str:
        token = self.cleaned_data["api_token"]
        return token or (self.instance.api_token if self.instance.pk else "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("writeback") and not data.get("api_token"):
            self.add_error("api_token", _("Writing back needs the helpdesk's API token."))
        if data.get("writeback") and "api_user" in self.fields and not data.get("api_user"):
            self.add_error("api_user", _("Writing back to this helpdesk needs this too."))
        field = data.get("score_field", "")
        if self.provider == HelpdeskProvider.ZENDESK and field and not field.isdigit():
            self.add_error("score_field", _("Zendesk's field id is a number."))
        if data.get("embedded") == "signed":
            token_field = data.get("token_field", "")
            if not token_field:
                self.add_error("token_field", _("Signed links need the field for the token."))
            elif self.provider == HelpdeskProvider.ZENDESK and not token_field.isdigit():
                self.add_error("token_field", _("Zendesk's field id is a number."))
            if not data.get("api_token"):
                self.add_error("api_token", _("Writing the token needs the helpdesk's API token."))
        return data


TOKEN_HELP = {
    HelpdeskProvider.ZENDESK: _("An API token (Admin Center, Apps and integrations, Zendesk API)."),
    HelpdeskProvider.FRESHDESK: _("An agent's API key (Profile settings, View API key)."),
    HelpdeskProvider.HUBSPOT: _(
        "A private app's access token with the scope crm.objects.tickets.write."
    ),
    HelpdeskProvider.HELPSCOUT: _("An OAuth access token of a Help Scout app."),
    HelpdeskProvider.INTERCOM: _("An access token of an Intercom app."),
}
USER_LABEL = {
    HelpdeskProvider.ZENDESK: _("Email of the token's agent"),
    HelpdeskProvider.INTERCOM: _("Id of the admin who writes the notes"),
}
USER_HELP = {
    HelpdeskProvider.ZENDESK: _("The API token acts as this agent; the notes are written by them."),
    HelpdeskProvider.INTERCOM: _("Intercom writes a note as an admin: the admin's id (a number)."),
}
BASE_HELP = {
    HelpdeskProvider.ZENDESK: _(
        "Your Zendesk address, https://yourcompany.zendesk.com. Empty: the account the "
        "ticket's webhook came from."
    ),
    HelpdeskProvider.FRESHDESK: _(
        "Your Freshdesk address, https://yourcompany.freshdesk.com. Empty: the account "
        "the ticket's webhook came from."
    ),
    HelpdeskProvider.HUBSPOT: _("Empty: https://api.hubapi.com."),
    HelpdeskProvider.HELPSCOUT: _("Empty: https://api.helpscout.net."),
    HelpdeskProvider.INTERCOM: _(
        "Empty: https://api.intercom.io (for the EU data centre, https://api.eu.intercom.io)."
    ),
}
FIELD_HELP = {
    HelpdeskProvider.ZENDESK: _(
        "The id of a numeric custom ticket field for the CSAT score. Empty: note and tags only."
    ),
    HelpdeskProvider.FRESHDESK: _(
        "The name of a number custom field for the CSAT score (cf_...). Empty: note and tags only."
    ),
    HelpdeskProvider.HUBSPOT: _(
        "The internal name of a number ticket property for the CSAT score. Empty: the note only."
    ),
}
TOKEN_FIELD_HELP = {
    HelpdeskProvider.ZENDESK: _("Signed: the id of a text ticket field for each ticket's token."),
    HelpdeskProvider.FRESHDESK: _(
        "Signed: the name of a text field for each ticket's token (cf_...)."
    ),
    HelpdeskProvider.HUBSPOT: _(
        "Signed: the internal name of a text ticket property for each ticket's token."
    ),
}
