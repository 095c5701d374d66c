"""Rating buttons inside the helpdesk's own solved email ("embedded").

Per helpdesk connection: while it is embedded, Kundpuls sends no survey email of its
own for its tickets; the helpdesk's solved notification carries the buttons, whose
links open /e/<helpdesk>/<ticket id>/ (surveys.views.embedded) and from there the
survey page, with the same scanner rules, languages and cases as Kundpuls's email.

Signed (Zendesk, Freshdesk, HubSpot): when Kundpuls first hears of a ticket it writes
the ticket's token (surveys.tokens.embedded_token) into a ticket field through the
helpdesk's API, and the snippet's links carry that field's placeholder, so a link is
as hard to make up as Kundpuls's own. Unsigned: the links carry only the ticket id;
they are accepted for a ticket Kundpuls knows from that helpdesk, solved, and the
answer is marked unsigned. The write is a row, claimed once and retried with backoff
by the integrations sweep, like a write-back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from surveys.queue import enqueue
from surveys.tokens import embedded_token

from .models import HelpdeskConnection, HelpdeskProvider, TicketTokenWrite
from .writeback import (
    Api,
    WriteFailed,
    api_for,
    write_claim,
    write_done,
    write_failed,
    writes_due,
)

logger = logging.getLogger(__name__)

State = TicketTokenWrite.State
# The helpdesks whose solved emails take a snippet with a ticket field's placeholder.
EMBEDDABLE = (HelpdeskProvider.ZENDESK, HelpdeskProvider.FRESHDESK, HelpdeskProvider.HUBSPOT)
# Each helpdesk's placeholders for the ticket id and for a ticket field's value.
PLACEHOLDERS = {
    HelpdeskProvider.ZENDESK: ("{{ticket.id}}", "{{{{ticket.ticket_field_{field}}}}}"),
    HelpdeskProvider.FRESHDESK: ("{{ticket.id}}", "{{{{ticket.{field}}}}}"),
    HelpdeskProvider.HUBSPOT: ("{{ ticket.hs_object_id }}", "{{{{ ticket.{field} }}}}"),
}


def embedded_connection(provider: str) -> HelpdeskConnection | None:
    """The connection whose tickets are rated in the helpdesk's own email, if any."""
    if provider not in EMBEDDABLE:
        return None
    return (
        HelpdeskConnection.objects.filter(provider=provider, active=True)
        .exclude(embedded="")
        .first()
    )


def ticket_heard_of(
    *, connection: HelpdeskConnection, ticket_id: str, created: bool, now: datetime
) -> None:
    """Kundpuls has just heard of a ticket: in signed mode, write its token into it."""
    if not created or connection.embedded != "signed":
        return
    try:
        with transaction.atomic():
            write = TicketTokenWrite.objects.create(
                connection=connection, ticket_id=ticket_id, next_attempt_at=now, created_at=now
            )
    except IntegrityError:
        return  # written (or being written) already
    enqueue("integrations.tasks.token_write_send", write.pk)


def token_write_send(*, write_id: int, now: datetime | None = None) -> TicketTokenWrite | None:
    """Try one due token write once. None when not due, its connection is stopped by
    a refused API token, or another worker claimed it."""
    now = now or timezone.now()
    if not write_claim(TicketTokenWrite, write_id, now):
        return None
    write = TicketTokenWrite.objects.select_related("connection").get(pk=write_id)
    connection = write.connection
    token = embedded_token(source=connection.provider, external_id=write.ticket_id)
    api = api_for(connection, write.ticket_id)
    try:
        _token_put(api, connection, token)
    except WriteFailed as failure:
        write_failed(write, failure, now)
    else:
        write_done(write, now, status=api.last_status)
    return write


# Zendesk: PUT /api/v2/tickets/{id}.json with custom_fields [{"id", "value"}] (Tickets
# API, Update Ticket). Freshdesk: PUT /api/v2/tickets/{id} with custom_fields
# {"cf_name": value} (Update a Ticket). HubSpot: PATCH /crm/v3/objects/tickets/{id} with
# {"properties": {name: value}} (CRM tickets API, Update).
def _token_put(api: Api, connection: HelpdeskConnection, token: str) -> None:
    field = connection.token_field
    if connection.provider == HelpdeskProvider.ZENDESK:
        body = {"ticket": {"custom_fields": [{"id": int(field), "value": token}]}}
        api.call("PUT", f"/api/v2/tickets/{api.ticket}.json", body)
    elif connection.provider == HelpdeskProvider.FRESHDESK:
        api.call("PUT", f"/api/v2/tickets/{api.ticket}", {"custom_fields": {field: token}})
    else:
        api.call("PATCH", f"/crm/v3/objects/tickets/{api.ticket}", {"properties": {field: token}})


def token_writes_due(*, now: datetime, limit: int = 500) -> list[int]:
    return writes_due(TicketTokenWrite, now=now, limit=limit)


def snippet(connection: HelpdeskConnection) -> dict[str, str]:
    """The rating buttons for the helpdesk's solved email, as HTML and as plain text,
    with the helpdesk's placeholders (empty when the helpdesk takes none)."""
    if connection.provider not in EMBEDDABLE or not connection.embedded:
        return {}
    ticket, field = PLACEHOLDERS[connection.provider]
    base = settings.SITE_URL + reverse(
        "surveys:embedded", args=[connection.provider, "TICKET"]
    ).replace("TICKET", ticket)
    signed = connection.embedded == "signed" and connection.token_field
    token = "&t=" + field.format(field=connection.token_field) if signed else ""
    html_token = token.replace("&", "&amp;")
    # White on each of these has a contrast of at least 4.5:1 (WCAG AA).
    points = [(1, "#a93226"), (2, "#a04000"), (3, "#566573"), (4, "#1d6f42"), (5, "#145a32")]
    buttons = "".join(
        f'<a href="{base}?csat={n}{html_token}" style="display:inline-block;min-width:40px;'
        f"padding:10px 0;margin:0 4px;border-radius:6px;background:{colour};color:#ffffff;"
        f'font:bold 18px Arial,sans-serif;text-align:center;text-decoration:none">{n}</a>'
        for n, colour in points
    )
    question = "How would you rate our support? (1 = very poor, 5 = very good)"
    html = (
        f'<p style="margin:16px 0 4px;font:16px Arial,sans-serif">{question}</p>'
        f'<p style="margin:0 0 16px">{buttons}</p>'
    )
    text = "\n".join([question, *(f"{n}: {base}?csat={n}{token}" for n, _colour in points)])
    return {"html": html, "text": text}
