"""Fetches of the links in survey emails: kept (without identifying anyone) and judged,
so emails opened by a mail scanner are told from emails a person clicked."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import rules, signals
from .models import Invitation, LinkClick

# More fetches than this of one email's links are not kept: nobody clicks that often.
CLICKS_KEPT = 200


def link_click_record(
    *,
    invitations: list[Invitation],
    link: str,
    score: int | None = None,
    method: str = "GET",
    user_agent: str = "",
    now: datetime | None = None,
) -> LinkClick | None:
    """Keep one fetch of a survey email's link and judge every fetch of that email
    again: the email is marked bot-suspect once any fetch looks automated, and its
    first_clicked_at is the first fetch that does not. Records no answer."""
    now = now or timezone.now()
    lead = invitations[0]
    with transaction.atomic():
        # One email's fetches are judged one at a time.
        locked = Invitation.objects.select_for_update().filter(token_hash=lead.token_hash)
        # What the funnel counts of this email: its rollups change only when these do.
        funnel = ("first_clicked_at", "bot_suspect_at")
        before = {row[0]: row[1:] for row in locked.values_list("pk", *funnel)}[lead.pk]
        if LinkClick.objects.filter(invitation=lead).count() >= CLICKS_KEPT:
            return None
        click = LinkClick.objects.create(
            invitation=lead,
            link=link,
            score=score,
            method=method.upper()[:8],
            agent_key=_agent_key(user_agent),
            at=now,
        )
        _clicks_judge(lead)
        changed = Invitation.objects.filter(pk=lead.pk).values_list(*funnel).get() != before
    if changed:
        # The funnel counts clicked and filtered-as-bot emails.
        for invitation in Invitation.objects.filter(token_hash=lead.token_hash):
            signals.invitation_changed_send(invitation)
    return click


def _agent_key(user_agent: str) -> str:
    """A short keyed hash: tells clients apart without keeping what they are."""
    if not user_agent:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), user_agent.encode(), hashlib.sha256)
    return digest.hexdigest()[:12]


def _clicks_judge(lead: Invitation) -> None:
    clicks = list(LinkClick.objects.filter(invitation=lead).order_by("at", "pk"))
    reasons = rules.clicks_automated(
        [
            rules.Click(c.at, c.link + (f":{c.score}" if c.score is not None else ""), c.method)
            for c in clicks
        ],
        send_times=[t for t in (lead.sent_at, lead.reminded_at) if t is not None],
        rating_links=lead.scale_points if lead.kind == "csat" else 0,
    )
    changed: dict[str, list[int]] = {}
    for click, reason in zip(clicks, reasons, strict=True):
        if click.automated_reason != reason:
            changed.setdefault(reason, []).append(click.pk)
    for reason, pks in changed.items():
        LinkClick.objects.filter(pk__in=pks).update(automated_reason=reason)
    human = [c.at for c, reason in zip(clicks, reasons, strict=True) if not reason]
    siblings = Invitation.objects.filter(token_hash=lead.token_hash)
    siblings.update(first_clicked_at=min(human) if human else None)
    suspect = next((reason for reason in reasons if reason), "")
    if suspect:
        siblings.filter(bot_suspect_at__isnull=True).update(
            bot_suspect_at=max(c.at for c, r in zip(clicks, reasons, strict=True) if r),
            bot_suspect_reason=suspect,
        )
