"""One small function per email. Each renders subject, text and HTML templates in
the recipient's language and returns the message, ready to send."""

from __future__ import annotations

import hashlib
import secrets
import urllib.parse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

if TYPE_CHECKING:
    from .models import Customer, Invitation, SurveyPolicy

UNSUBSCRIBE_SALT = "kundpuls.unsubscribe"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


class _SignedAt(signing.TimestampSigner):
    """A timestamp signer whose time is given, so one email signs the same every time."""

    def __init__(self, *, at: datetime, salt: str) -> None:
        super().__init__(salt=salt)
        self._at = int(at.timestamp())

    def timestamp(self) -> str:
        return signing.b62_encode(self._at)


def unsubscribe_token(customer: Customer, *, at: datetime | None = None) -> str:
    """The signed unsubscribe token of a customer. With `at` (the survey's creation)
    it is the same each time, so a survey email sent again is the identical email."""
    if at is None:
        return signing.dumps(customer.pk, salt=UNSUBSCRIBE_SALT)
    return _SignedAt(at=at, salt=UNSUBSCRIBE_SALT).sign_object(customer.pk)


def unsubscribe_url(customer: Customer, *, at: datetime | None = None) -> str:
    token = unsubscribe_token(customer, at=at)
    return absolute(reverse("surveys:unsubscribe", args=[token]))


def unsubscribe_customer(token: str) -> tuple[Customer | None, bool]:
    """The customer of an unsubscribe link, and whether the link is older than
    UNSUBSCRIBE_LINK_DAYS (an old, forwarded email no longer changes anything)."""
    from .models import Customer

    try:
        pk = signing.loads(
            token, salt=UNSUBSCRIBE_SALT, max_age=timedelta(days=settings.UNSUBSCRIBE_LINK_DAYS)
        )
        expired = False
    except signing.SignatureExpired:
        pk, expired = signing.loads(token, salt=UNSUBSCRIBE_SALT), True
    except signing.BadSignature:
        return None, False
    return Customer.objects.filter(pk=pk).first(), expired


def unsubscribe_link_email(*, customer: Customer, policy: SurveyPolicy) -> EmailMultiAlternatives:
    """A fresh unsubscribe link, asked for from an expired one; to the customer's own
    address only, so nobody else can use it."""
    context = {**brand_context(policy), "unsubscribe_url": unsubscribe_url(customer)}
    message = render_email("unsubscribe-link", context, customer.email, customer.locale, html=False)
    message.extra_headers = {"Auto-Submitted": "auto-replied"}
    return message


def message_id(message: EmailMultiAlternatives) -> str:
    """The id the email provider's tracking events will name a sent message by: the
    provider's own id (django-anymail backends), else the Message-ID header we set."""
    status = getattr(message, "anymail_status", None)
    sent_id = status.message_id if status is not None else None
    if isinstance(sent_id, set):  # one id per recipient; a survey has one recipient
        sent_id = min(sent_id, default=None)
    if sent_id is not None:
        return str(sent_id)
    return message.extra_headers.get("Message-ID", "")


def _own_message_id(key: str) -> dict[str, str]:
    """A Message-ID header for SMTP sends; a provider's API sets its own id. The id
    comes from the key, so it is the same every time (a survey email sent again after
    a crash is the same message, so mail clients show it once)."""
    if settings.EMAIL_BACKEND.startswith("anymail."):
        return {}
    domain = urllib.parse.urlsplit(settings.SITE_URL).hostname or "kundpuls.localhost"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return {"Message-ID": f"<kundpuls.{digest}@{domain}>"}


def render_email(
    name: str, context: dict[str, Any], to: str, language: str, *, html: bool = True
) -> EmailMultiAlternatives:
    """The email templates/emails/<name>-subject.txt, -body.txt (and -body.html) in
    `language`, to one recipient."""
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
        text = render_to_string(f"emails/{name}-body.txt", context)
        html_body = render_to_string(f"emails/{name}-body.html", context) if html else ""
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    if html_body:
        message.attach_alternative(html_body, "text/html")
    return message


def survey_email(
    *, invitations: list[Invitation], token: str, policy: SurveyPolicy
) -> EmailMultiAlternatives:
    """The survey for one ticket; its first question answers with one click."""
    return _survey_message("survey", invitations=invitations, token=token, policy=policy)


def survey_reminder_email(
    *, invitations: list[Invitation], token: str, policy: SurveyPolicy
) -> EmailMultiAlternatives:
    """The one reminder of an unanswered survey, with a link token of its own."""
    return _survey_message("reminder", invitations=invitations, token=token, policy=policy)


def brand_context(policy: SurveyPolicy) -> dict[str, Any]:
    """The company's name, colour, logo and site, for emails and pages."""
    logo_url = (
        absolute(reverse("surveys:logo", args=[policy.logo_hash])) if policy.logo_hash else ""
    )
    return {
        "company": policy.company_name,
        "brand_color": policy.brand_color,
        "logo_url": logo_url,
        "website_url": policy.website_url,
    }


def _survey_message(
    name: str, *, invitations: list[Invitation], token: str, policy: SurveyPolicy
) -> EmailMultiAlternatives:
    from .forms import question_text, scale_labels, scale_points

    survey = invitations[0].survey
    ticket, customer = survey.ticket, survey.customer
    # What differs from one customer to the next; the rest is rendered once (_rendered).
    own = {
        # Nordic emails greet by first name: "Hej Anna," not "Hej Anna Berg,".
        "customer_name": customer.name.split(" ")[0] if customer.name else "",
        "agent_name": survey.agent.get_full_name() if survey.agent else "",
        "subject": ticket.subject,
        "survey_url": absolute(reverse("surveys:survey", args=[token])),
        # Invisible to people: only a machine fetches it (see rules.clicks_automated).
        "honeypot_url": absolute(reverse("surveys:honeypot", args=[token])),
        "unsubscribe_url": unsubscribe_url(customer, at=survey.created_at),
    }
    marks = {key: _mark(key) if value else "" for key, value in own.items()}
    csat = next((i for i in invitations if i.kind == "csat"), None)
    context: dict[str, Any] = {**brand_context(policy), **marks, "style": policy.csat_style}
    with translation.override(survey.locale):
        if csat is not None:
            context["question"] = question_text(csat, policy.company_name)
            context["ends"] = scale_labels(csat)
            context["ratings"] = [
                (point, f"{marks['survey_url']}?csat={point.value}")
                for point in scale_points(csat, policy.csat_style)
            ]
    subject, text, html = _rendered(name, context, survey.locale)
    message = EmailMultiAlternatives(
        # On one line, as render_email makes a subject.
        subject=" ".join(_fill(subject, own, html=False).split()),
        body=_fill(text, own, html=False),
        to=[customer.email],
    )
    message.attach_alternative(_fill(html, own, html=True), "text/html")
    message.extra_headers = {
        "List-Unsubscribe": f"<{own['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Kundpuls-Ticket": str(ticket),
        # The same for every try of this survey's email (or reminder).
        **_own_message_id(f"{name}:{survey.pk}:{survey.link_key}"),
    }
    return message


# Survey emails differ from customer to customer only in a few values: each email's
# subject, text and HTML are rendered once per language and everything else in the
# context (the policy, the questions, the style, and which of those values are empty),
# with a mark where each value goes, and filled for each customer.
_MARK_KEY = secrets.token_hex(6)
_RENDERED: dict[tuple[str, str, str], tuple[str, str, str]] = {}
_RENDERED_KEPT = 512


def _mark(key: str) -> str:
    return f"[[kundpuls-{_MARK_KEY}-{key}]]"


def _rendered(name: str, context: dict[str, Any], language: str) -> tuple[str, str, str]:
    key = (name, language, repr(sorted(context.items())))
    if key not in _RENDERED:
        if len(_RENDERED) >= _RENDERED_KEPT:
            _RENDERED.clear()
        message = render_email(name, context, "", language)
        _RENDERED[key] = (message.subject, message.body, message.alternatives[0].content)
    return _RENDERED[key]


def _fill(rendered: str, values: dict[str, str], *, html: bool) -> str:
    """Put each customer's values where their marks are (escaped for HTML, as the
    template would have)."""
    for key, value in values.items():
        if value:
            rendered = rendered.replace(_mark(key), escape(value) if html else value)
    return rendered


def survey_comment(invitation: Invitation) -> str:
    """The comment left on the survey's page (it is kept on the first answer)."""
    from .models import Response

    return (
        Response.objects.filter(invitation__survey_id=invitation.survey_id)
        .exclude(comment="")
        .values_list("comment", flat=True)
        .first()
        or ""
    )
