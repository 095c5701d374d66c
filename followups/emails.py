"""The emails of follow-up cases: to the owner (case opened), the team lead
(escalation), each owner's daily digest, and the customer's recovery survey."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import translation

from surveys.emails import absolute, brand_context, render_email, unsubscribe_url
from surveys.models import SurveyPolicy
from surveys.rules import SUPPORTED_LANGUAGES

from .models import FollowUp


def _staff_recipient(to: str, *candidates: Any) -> Any:
    """The staff member an email goes to: the first candidate with that address, else
    the user with it (None if there is none)."""
    for user in candidates:
        if user is not None and user.email == to:
            return user
    return get_user_model().objects.filter(email__iexact=to).order_by("pk").first() if to else None


def followup_opened_email(*, followup: FollowUp) -> EmailMultiAlternatives:
    """Tell the agent a customer gave low scores (all of them named, with the comment)
    and should be called back, in the owner's language."""
    from .models import staff_language

    answers = followup.answers
    context = {
        "followup": followup,
        "ticket": followup.survey.ticket,
        "scores": followup.reason,
        "held": any(answer.held for answer in answers),
        "comment": next((answer.comment for answer in answers if answer.comment), ""),
        "customer": followup.survey.customer,
        "url": absolute(followup.get_absolute_url()),
    }
    language = staff_language(followup.owner)
    with translation.override(language):
        return render_email("followup-opened", context, followup.owner.email, language)


def followup_escalated_email(
    *, followup: FollowUp, to: str, recipient: Any = None
) -> EmailMultiAlternatives:
    """Tell the team lead a case is past its due time and nobody has contacted the customer,
    in the lead's language (recipient: the lead; else found by the address `to`)."""
    from .models import staff_language

    context = {
        "followup": followup,
        "ticket": followup.survey.ticket,
        "url": absolute(followup.get_absolute_url()),
    }
    if recipient is None:
        team = followup.survey.team
        recipient = _staff_recipient(to, team.lead if team is not None else None)
    language = staff_language(recipient)
    with translation.override(language):
        return render_email("followup-escalated", context, to, language, html=False)


def followup_digest_email(
    *, followups: list[FollowUp], to: str, now: datetime, recipient: Any = None
) -> EmailMultiAlternatives:
    """One owner's open cases, once a day, in the owner's language (recipient: the
    owner; else found by the address `to`)."""
    from .models import staff_language

    context = {"followups": followups, "now": now, "url": absolute(reverse("followups:inbox"))}
    if recipient is None:
        recipient = _staff_recipient(to, followups[0].owner if followups else None)
    language = staff_language(recipient)
    with translation.override(language):
        return render_email("followup-digest", context, to, language, html=False)


def recovery_language(followup: FollowUp) -> str:
    """The language the customer of a case is asked in: theirs if Kundpuls speaks it,
    else English."""
    locale = followup.survey.customer.locale
    return locale if locale in SUPPORTED_LANGUAGES else "en"


def recovery_email(
    *, followup: FollowUp, token: str, policy: SurveyPolicy
) -> EmailMultiAlternatives:
    """The recovery question with a one-click Yes and No, in the customer's language."""
    customer = followup.survey.customer
    url = absolute(reverse("followups:recovery", args=[token]))
    context = {
        **brand_context(policy),
        "customer_name": customer.name.split(" ")[0] if customer.name else "",
        "subject": followup.survey.ticket.subject or str(followup.survey.ticket),
        "recovery_url": url,
        "yes_url": f"{url}?answer=yes",
        "no_url": f"{url}?answer=no",
        "unsubscribe_url": unsubscribe_url(customer),
    }
    message = render_email("recovery", context, customer.email, recovery_language(followup))
    message.extra_headers = {
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Kundpuls-Followup": str(followup.pk),
    }
    return message
