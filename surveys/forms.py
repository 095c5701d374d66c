"""The survey form: the questions of one email, built from its invitations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from .models import Invitation
from .services import COMMENT_MAX_CHARS


def question_text(invitation: Invitation, company: str) -> str:
    if invitation.kind == "csat":
        return str(_("How satisfied were you with the support you received?"))
    if invitation.kind == "ces":
        if invitation.inverted:
            return str(_("How much effort did you have to put in to handle your issue?"))
        return str(_("%(company)s made it easy for me to handle my issue.") % {"company": company})
    return str(
        _("How likely is it that you would recommend %(company)s to a friend or colleague?")
        % {"company": company}
    )


def scale_labels(invitation: Invitation) -> tuple[str, str]:
    """The words at the two ends of the scale."""
    if invitation.kind == "csat":
        return str(_("Very dissatisfied")), str(_("Very satisfied"))
    if invitation.kind == "ces":
        if invitation.inverted:
            return str(_("Very little effort")), str(_("A great deal of effort"))
        return str(_("Strongly disagree")), str(_("Strongly agree"))
    return str(_("Not at all likely")), str(_("Extremely likely"))


class SurveyForm(forms.Form):
    comment = forms.CharField(
        label=_("Anything you would like to add?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, invitations: list[Invitation], company: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.invitations = invitations
        for inv in invitations:
            low = 0 if inv.kind == "nps" else 1
            high = 10 if inv.kind == "nps" else inv.scale_points
            self.fields[inv.kind] = forms.TypedChoiceField(
                label=question_text(inv, company),
                choices=[(n, str(n)) for n in range(low, high + 1)],
                coerce=int,
                empty_value=None,
                required=inv.kind == invitations[0].kind,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Please choose a score."),
                    "invalid_choice": _("Please choose a score from %(low)s to %(high)s.")
                    % {"low": low, "high": high},
                },
            )
            self.fields[inv.kind].scale_labels = scale_labels(inv)
        self.order_fields([inv.kind for inv in invitations] + ["comment"])

    def clean_comment(self) -> str:
        comment = self.cleaned_data["comment"]
        if len(comment) > COMMENT_MAX_CHARS:
            raise forms.ValidationError(
                _(
                    "Please keep your comment under %(max)s characters; it has %(length)s. "
                    "Your text is still in the box."
                ),
                params={
                    "max": number_format(COMMENT_MAX_CHARS, force_grouping=True),
                    "length": number_format(len(comment), force_grouping=True),
                },
            )
        return comment

    def answers(self) -> dict[str, int | None]:
        return {inv.kind: self.cleaned_data.get(inv.kind) for inv in self.invitations}
