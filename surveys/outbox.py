"""A development email backend that keeps messages in the database, shown at
/dev/outbox/, so a first run needs no mail server."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

from .models import OutboxMessage


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            html = ""
            if isinstance(message, EmailMultiAlternatives):
                html = next((c for c, mime in message.alternatives if mime == "text/html"), "")
            OutboxMessage.objects.create(
                to=", ".join(message.to),
                subject=message.subject,
                text=message.body,
                html=html,
                headers=dict(message.extra_headers),
            )
        return len(email_messages)
