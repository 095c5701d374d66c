"""The email to the admins when an outbound webhook is switched off."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from surveys.emails import absolute

from .models import WebhookSubscription


def webhook_disabled_email(
    *, subscription: WebhookSubscription, error: str, to: list[str]
) -> EmailMultiAlternatives:
    """Tell the admins a webhook (or Slack / Teams channel) stopped getting events."""
    url = absolute(reverse("admin:integrations_webhooksubscription_change", args=[subscription.pk]))
    body = (
        f"Kundpuls switched off the webhook subscription to {subscription.url} "
        f"({subscription.get_format_display()}): its deliveries have failed for a day.\n\n"
        f"Last error: {error or 'none recorded'}\n\n"
        "The failed deliveries are kept in the admin (Webhook deliveries). Fix the receiver, "
        f"then switch the subscription on again:\n{url}\n"
    )
    return EmailMultiAlternatives(
        subject=f"Webhook switched off: {subscription.url}"[:200], body=body, to=to
    )
