"""The forms of a case page, and the customer's recovery answer."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.forms import comment_checked

from .models import FollowUp


class FollowUpStatusForm(forms.Form):
    """The status and the outcome of a case (a missing outcome leaves it as it is)."""

    status = forms.ChoiceField(label=_("Status"), choices=FollowUp.Status.choices)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=FollowUp.Outcome.choices, required=False
    )

    def __init__(self, *args: Any, instance: FollowUp | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault("initial", {"status": instance.status, "outcome": instance.outcome})
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class FollowUpNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class CustomerReplyForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Body"), widget=forms.Textarea(attrs={"rows": 10}), max_length=20000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class FollowUpReassignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None)  # type: ignore[arg-type]

    def __init__(self, *args: Any, owners: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.email
        self.helper = FormHelper()
        self.helper.form_tag = False


class RecoveryForm(forms.Form):
    """The customer's answer to "Did we sort it out?" and an optional comment."""

    answer = forms.ChoiceField(
        label=_("Did we sort it out?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose Yes or No."),
            "invalid_choice": _("Please choose Yes or No."),
        },
    )
    comment = forms.CharField(
        label=_("Anything you would like to add?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_comment(self) -> str:
        return comment_checked(self.cleaned_data["comment"])
