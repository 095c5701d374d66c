"""A staff member's own page: the language of their pages and emails."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import StaffSettings
from .views import agent_login_required


def _language_choices() -> list[tuple[str, str]]:
    """Each language named in itself (Svenska, Suomi), so anyone finds their own."""
    named = [
        (code, translation.get_language_info(code)["name_local"].capitalize())
        for code, _name in settings.LANGUAGES
    ]
    return [("", gettext_lazy("The language my browser asks for")), *named]


class StaffSettingsForm(forms.ModelForm):
    class Meta:
        model = StaffSettings
        fields = ["language"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _language_choices()


@agent_login_required
def account(request: HttpRequest) -> HttpResponse:
    own, _made = StaffSettings.objects.get_or_create(user=request.user)
    form = StaffSettingsForm(request.POST or None, instance=own)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        language = saved.language or translation.get_language_from_request(request)
        translation.activate(language)
        messages.success(request, _("Saved. Your pages and emails are now in this language."))
        return redirect("followups:account")
    return render(request, "followups/account.html", {"form": form, "nav": "account"})
