"""Chat messages about low scores, for Slack and Microsoft Teams incoming webhooks.

A chat subscription is an outbound webhook subscription (integrations/outbound.py: the
same deliveries, retries and log) whose body is one of these messages instead of
the JSON event.
"""

from __future__ import annotations

from typing import Any

from followups.models import FollowUp
from followups.services import response_case_reason, score_text
from surveys.emails import absolute, survey_comment
from surveys.models import Response

from .models import WebhookSubscription

Format = WebhookSubscription.Format
COMMENT_CHARS = 300


def low_score_message(response: Response, format: str) -> dict[str, Any] | None:
    """A new answer is posted to chat only when it opens a case (a low score, or a
    listed word) and is the first of its survey's answers that does: one post per
    customer's survey, like its case. An answer held for review is not posted."""
    if response.held or response_case_reason(response=response) is None:
        return None
    # Made before it: a survey's answers are stored together, in the order asked.
    earlier = Response.objects.filter(
        invitation__survey_id=response.invitation.survey_id, held=False, pk__lt=response.pk
    )
    if any(response_case_reason(response=other) for other in earlier.select_related("invitation")):
        return None
    return chat_message(response=response, followup=None, format=format)


def truncated(text: str, limit: int = COMMENT_CHARS) -> str:
    """On one line, and cut at a word (with an ellipsis) to at most `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def _chat_facts(response: Response, followup: FollowUp | None) -> dict[str, str]:
    invitation = response.invitation
    survey = invitation.survey
    ticket, customer, agent = survey.ticket, survey.customer, survey.agent
    # A case names every low score of its survey.
    score = (
        followup.reason
        if followup
        else score_text(
            kind=invitation.kind, raw_score=response.raw_score, scale_points=invitation.scale_points
        )
    )
    return {
        "score": score,
        "customer": customer.name or customer.email,
        "ticket": f"{ticket.subject or '(no subject)'} ({ticket.source} #{ticket.external_id})",
        "ticket_url": ticket.url,
        "agent": (agent.get_full_name() or agent.email) if agent else "nobody",
        "team": survey.team.name if survey.team else "no team",
        "comment": truncated(response.comment or survey_comment(invitation)),
        "case_url": absolute(followup.get_absolute_url()) if followup else "",
    }


def chat_message(
    *, response: Response, followup: FollowUp | None, format: str
) -> dict[str, Any] | None:
    """The Slack or Teams message about a low score (and the case it opened)."""
    facts = _chat_facts(response, followup)
    if format == Format.SLACK:
        return slack_message(facts)
    if format == Format.TEAMS:
        return teams_message(facts)
    return None


def slack_escape(text: str) -> str:
    """Slack's mrkdwn reads only &, < and > as markup (links, mentions): escape them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(facts: dict[str, str]) -> dict[str, Any]:
    """An incoming-webhook message: `text` for notifications, `blocks` for the channel."""
    e = {name: slack_escape(value) for name, value in facts.items()}
    headline = f"{e['score']} from {e['customer']}"
    ticket = f"<{facts['ticket_url']}|{e['ticket']}>" if facts["ticket_url"] else e["ticket"]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Ticket*\n{ticket}"},
                {"type": "mrkdwn", "text": f"*Agent*\n{e['agent']}"},
                {"type": "mrkdwn", "text": f"*Team*\n{e['team']}"},
            ],
        },
    ]
    if facts["comment"]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"> {e['comment']}"}})
    if facts["case_url"]:
        button = {"type": "plain_text", "text": "Open the case"}
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": button, "url": facts["case_url"]}],
            }
        )
    return {"text": f"{headline}: {e['ticket']}", "blocks": blocks}


def _teams_line(label: str, value: str) -> dict[str, Any]:
    # TextRuns are shown as written (no Markdown), so customers' words need no escaping.
    return {
        "type": "RichTextBlock",
        "inlines": [
            {"type": "TextRun", "text": f"{label}: ", "weight": "Bolder"},
            {"type": "TextRun", "text": value},
        ],
    }


def teams_message(facts: dict[str, str]) -> dict[str, Any]:
    """A message for a Teams Workflows webhook ("Post to a channel when a webhook
    request is received"): one Adaptive Card attachment."""
    headline = f"{facts['score']} from {facts['customer']}"
    body: list[dict[str, Any]] = [
        {
            "type": "RichTextBlock",
            "inlines": [
                {"type": "TextRun", "text": headline, "weight": "Bolder", "size": "Medium"}
            ],
        },
        _teams_line("Ticket", facts["ticket"]),
        _teams_line("Agent", facts["agent"]),
        _teams_line("Team", facts["team"]),
    ]
    if facts["comment"]:
        body.append(
            {
                "type": "RichTextBlock",
                "inlines": [{"type": "TextRun", "text": facts["comment"], "italic": True}],
            }
        )
    actions = [
        {"type": "Action.OpenUrl", "title": title, "url": facts[name]}
        for name, title in (("case_url", "Open the case"), ("ticket_url", "Open the ticket"))
        if facts[name]
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
