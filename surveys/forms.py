"""The survey form: the questions of one email, built from its invitations; and how
the scales, prompts and form tokens read, for the page and the email alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.core import signing
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import scoring
from .models import Invitation, QuestionText, Reason, SurveyPolicy, setup_cache
from .reasons import low_raw_scores, scores_in_words
from .rules import COMMENT_MAX_CHARS

PAGE_SIGNING_SALT = "kundpuls.survey-form"

# The word for each point of a satisfaction scale, by its number of points.
_SATISFACTION_WORDS = {
    3: (_("Dissatisfied"), pgettext_lazy("satisfaction", "Neutral"), _("Satisfied")),
    5: (
        _("Very dissatisfied"),
        _("Dissatisfied"),
        pgettext_lazy("satisfaction", "Neutral"),
        _("Satisfied"),
        _("Very satisfied"),
    ),
    7: (
        _("Very dissatisfied"),
        _("Dissatisfied"),
        _("Somewhat dissatisfied"),
        pgettext_lazy("satisfaction", "Neutral"),
        _("Somewhat satisfied"),
        _("Satisfied"),
        _("Very satisfied"),
    ),
}
# Faces from Unicode 6.0, which every mail client and phone draws.
_FACES = {
    3: ("😞", "😐", "😊"),
    5: ("😠", "😞", "😐", "😊", "😃"),
    7: ("😡", "😠", "😞", "😐", "😌", "😊", "😃"),
}
STAR = "★"


def question_text(invitation: Invitation, company: str) -> str:
    """The question in the active language: the admin's wording if there is one."""
    own = QuestionText.own(kind=invitation.kind, language=translation.get_language())
    if own:
        return own.replace("{company}", company)
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


@dataclass(frozen=True)
class Point:
    """One point of a scale as it is shown: its number, a star or face (decoration:
    the number is always shown too), and the words a screen reader adds."""

    value: int
    glyph: str
    words: str


def scale_points(invitation: Invitation, style: str = "numbers") -> list[Point]:
    low, high = scoring.score_range(kind=invitation.kind, scale_points=invitation.scale_points)
    ends = scale_labels(invitation)
    words = _SATISFACTION_WORDS.get(invitation.scale_points) if invitation.kind == "csat" else None
    points = []
    for value in range(low, high + 1):
        if words:
            word = str(words[value - 1])
        else:
            word = ends[0] if value == low else ends[1] if value == high else ""
        glyph = ""
        if invitation.kind == "csat" and style == SurveyPolicy.CsatStyle.STARS:
            glyph = STAR
        elif invitation.kind == "csat" and style == SurveyPolicy.CsatStyle.FACES:
            glyph = _FACES[invitation.scale_points][value - 1]
        points.append(Point(value=value, glyph=glyph, words=word))
    return points


def comment_prompts() -> dict[str, str]:
    """The comment box's question before a score is chosen, after a low or middling
    one, and after a good one."""
    return {
        "none": str(_("Anything you would like to add?")),
        "low": str(_("What could we have done better?")),
        "high": str(_("What did you like most?")),
    }


def comment_prompt(invitation: Invitation | None, score: int | None) -> str:
    prompts = comment_prompts()
    if invitation is None or score is None:
        return prompts["none"]
    positive = scoring.is_positive(
        kind=invitation.kind,
        score=scoring.normalise(
            kind=invitation.kind,
            raw=score,
            scale_points=invitation.scale_points,
            inverted=invitation.inverted,
        ),
        scale_points=invitation.scale_points,
    )
    return prompts["high" if positive else "low"]


def form_token_new(*, survey_key: str, now: datetime) -> str:
    """A signed token for one survey page: which survey, and when it was served."""
    return signing.dumps({"k": survey_key, "t": now.timestamp()}, salt=PAGE_SIGNING_SALT)


def form_token_age(token: str, *, survey_key: str, now: datetime) -> float | None:
    """Seconds since the page with this token was served; None when the token is
    missing, forged or from another survey."""
    try:
        payload = signing.loads(token, salt=PAGE_SIGNING_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("k") != survey_key:
        return None
    return now.timestamp() - float(payload.get("t", 0))


class SurveyForm(forms.Form):
    comment = forms.CharField(
        label=_("Anything you would like to add?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self,
        *args: Any,
        invitations: list[Invitation],
        company: str,
        style: str = "numbers",
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.invitations = invitations
        for inv in invitations:
            field, reasons = question_fields(
                inv, first=inv is invitations[0], company=company, style=style
            )
            self.fields[inv.kind] = field
            if reasons is not None:
                self.fields[reason_field_name(inv.kind)] = reasons
        self.order_fields(
            [name for inv in invitations for name in (inv.kind, reason_field_name(inv.kind))]
            + ["comment"]
        )

    def clean_comment(self) -> str:
        return comment_checked(self.cleaned_data["comment"])

    def answers(self) -> dict[str, int | None]:
        return {inv.kind: self.cleaned_data.get(inv.kind) for inv in self.invitations}

    def reasons(self) -> dict[str, list[int]]:
        """The reasons ticked per kind (response_record keeps them with low scores only)."""
        return {
            inv.kind: self.cleaned_data.get(reason_field_name(inv.kind)) or []
            for inv in self.invitations
        }

    def questions(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        """Each question's field with its reasons' field (None without reasons)."""
        return [
            (
                self[inv.kind],
                self[reason_field_name(inv.kind)]
                if reason_field_name(inv.kind) in self.fields
                else None,
            )
            for inv in self.invitations
        ]

    def questions_html(self) -> list[str]:
        """Each question's markup with its reasons, for the page (question_html)."""
        return [question_html(self, field, reasons) for field, reasons in self.questions()]

    def first_score(self) -> int | None:
        """The score chosen for the first question, as shown (for the comment prompt)."""
        name = self.invitations[0].kind
        value = self[name].value()
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None


def reason_field_name(kind: str) -> str:
    return f"{kind}_reasons"


def question_fields(
    invitation: Invitation, *, first: bool, company: str, style: str
) -> tuple[forms.TypedChoiceField, forms.TypedMultipleChoiceField | None]:
    """A question's field, and its reasons' field (None without reasons), in the active
    language. Every survey page asks for them, and they depend only on the question's
    shape, the language and the setup, so they are built once into the setup_cache and
    shared by the forms (which never change a field)."""
    key = (
        "survey-fields",
        translation.get_language(),
        invitation.kind,
        invitation.scale_points,
        invitation.inverted,
        first,
        company,
        style,
    )
    return setup_cache.get(
        key, lambda: _question_fields_build(invitation, key, first, company, style)
    )


def _question_fields_build(
    inv: Invitation, key: tuple, first: bool, company: str, style: str
) -> tuple[forms.TypedChoiceField, forms.TypedMultipleChoiceField | None]:
    low, high = scoring.score_range(kind=inv.kind, scale_points=inv.scale_points)
    field = forms.TypedChoiceField(
        label=question_text(inv, company),
        choices=[(n, str(n)) for n in range(low, high + 1)],
        coerce=int,
        empty_value=None,
        required=first,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose a score."),
            "invalid_choice": _("Please choose a score from %(low)s to %(high)s.")
            % {"low": low, "high": high},
        },
    )
    field.cache_key = key
    field.scale_labels = scale_labels(inv)
    field.style = style if inv.kind == "csat" else "numbers"
    # The first question's points carry the comment box's question to ask after each
    # of them (survey.js shows it).
    field.options = [
        (point, comment_prompt(inv, point.value) if first else "")
        for point in scale_points(inv, style)
    ]
    field.low_values = set()
    reasons = reasons_field(inv)
    if reasons is not None:
        field.low_values = set(reasons.low_values)
    return field, reasons


def question_html(form: SurveyForm, field: forms.BoundField, reasons: Any) -> str:
    """One question of the survey page (surveys/_question.html), with its reasons. The
    markup of an untouched question depends only on its fields and the score chosen,
    so it is rendered once into the setup_cache for each; a question with errors or
    ticked reasons is rendered as it is."""
    value = field.value()
    if form.errors or (reasons is not None and reasons.value()):
        return render_to_string("surveys/_question.html", {"field": field, "reasons": reasons})
    key = ("survey-question", field.field.cache_key, str(value))
    return setup_cache.get(
        key,
        lambda: render_to_string("surveys/_question.html", {"field": field, "reasons": reasons}),
    )


def reasons_field(invitation: Invitation) -> forms.TypedMultipleChoiceField | None:
    """Checkboxes of the active reasons of the question's kind, in the active language,
    or None when it has none. The page shows them for a low score of the question:
    the legend names those scores (survey.js shows the box only after one)."""
    offered = Reason.offered()[invitation.kind]
    if not offered:
        return None
    language = translation.get_language()
    field = forms.TypedMultipleChoiceField(
        label=_("What went wrong?"),
        choices=[(reason.pk, reason.label_in(language)) for reason in offered],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Please choose from the reasons shown.")},
    )
    field.low_values = low_raw_scores(invitation)
    field.condition = _("If you chose %(scores)s:") % {"scores": scores_in_words(field.low_values)}
    return field


def comment_checked(comment: str) -> str:
    """A customer's comment, or a clear error when it is too long (their text stays in
    the box): for the survey and the "Did we sort it out?" page."""
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
