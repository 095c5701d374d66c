"""Slack and Microsoft Teams incoming webhooks: a low score and its new case posted to
a channel through the outbound webhook machinery."""

import json
from datetime import timedelta

import pytest

from followups import services as followups
from followups.models import FollowUp
from integrations import outbound
from integrations.models import WebhookDelivery, WebhookSubscription
from surveys import answering
from surveys.models import Invitation, Team
from tests.conftest import NOW, QuietHandler, loopback_server

pytestmark = pytest.mark.django_db

HELPDESK_URL = "https://acme.zendesk.com/agent/tickets/48213"


class ChatReceiver(QuietHandler):
    """A chat's incoming webhook: 500 to the first `failures` posts, then 200 "ok"."""

    failures = 0
    calls: list

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append((self.path, body))
        failing = len(self.calls) <= self.failures
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def chat():
    ChatReceiver.calls, ChatReceiver.failures = [], 0
    with loopback_server(ChatReceiver) as url:
        yield url, ChatReceiver.calls


@pytest.fixture
def answer(sent_survey, django_capture_on_commit_callbacks):
    """Send a survey and answer its CSAT question; the follow-up work runs as after commit."""

    def make(score, comment="", **ticket):
        sent, _token = sent_survey(url=HELPDESK_URL, **ticket)
        with django_capture_on_commit_callbacks(execute=True):
            answering.response_record(
                invitations=list(
                    Invitation.objects.filter(survey__ticket=sent).filter(kind="csat")
                ),
                answers={"csat": score},
                comment=comment,
                now=NOW + timedelta(hours=3),
            )
        return sent

    return make


def subscribe(url, format, events=("followup.created",), team=None):
    return outbound.subscription_create(url=url, events=list(events), format=format, team=team)


def test_it_posts_a_new_low_score_case_to_slack(chat, answer):
    base, calls = chat
    subscribe(f"{base}/slack", "slack")

    answer(1, comment="Still no refund <b>after</b> 3 weeks & nobody calls back")

    [(path, body)] = calls
    case = FollowUp.objects.get()
    text = json.dumps(body["blocks"])
    assert path == "/slack"
    assert body["text"] == "CSAT 1 of 5 from Anna Berg: Refund not received (zendesk #48213)"
    assert f"<{HELPDESK_URL}|Refund not received (zendesk #48213)>" in text
    assert "Lars Holm" in text and "Billing" in text
    assert "Still no refund &lt;b&gt;after&lt;/b&gt; 3 weeks &amp; nobody calls back" in text
    assert body["blocks"][-1]["elements"][0]["url"] == f"http://testserver/followups/{case.pk}/"


def test_it_posts_a_new_low_score_case_to_teams_as_an_adaptive_card(chat, answer):
    base, calls = chat
    subscribe(f"{base}/teams", "teams")

    answer(2, comment="Slow *and* rude")

    [(path, body)] = calls
    assert path == "/teams"
    attachment = body["attachments"][0]
    card = attachment["content"]
    runs = [run["text"] for block in card["body"] for run in block["inlines"]]
    assert (body["type"], attachment["contentType"]) == (
        "message",
        "application/vnd.microsoft.card.adaptive",
    )
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert runs[0] == "CSAT 2 of 5 from Anna Berg"
    assert "Refund not received (zendesk #48213)" in runs and "Slow *and* rude" in runs
    assert [a["title"] for a in card["actions"]] == ["Open the case", "Open the ticket"]
    assert card["actions"][1]["url"] == HELPDESK_URL


def test_it_posts_a_low_score_answer_to_a_response_subscription(chat, answer):
    base, calls = chat
    subscribe(f"{base}/slack", "slack", events=["response.created"])

    answer(1)

    [(_path, body)] = calls
    assert body["text"].startswith("CSAT 1 of 5 from Anna Berg")
    assert "actions" not in [block["type"] for block in body["blocks"]]


def test_it_posts_nothing_for_a_high_score(chat, answer):
    base, calls = chat
    subscribe(f"{base}/slack", "slack", events=["response.created", "followup.created"])
    subscribe(f"{base}/teams", "teams", events=["response.created", "followup.created"])

    answer(5, comment="Great help")

    assert calls == []
    assert WebhookDelivery.objects.count() == 0


def test_it_posts_only_the_cases_of_the_subscribed_team(chat, answer):
    base, calls = chat
    support = Team.objects.create(name="Support")
    subscribe(f"{base}/support", "slack", team=support)
    subscribe(f"{base}/billing", "slack", team=Team.objects.create(name="Billing"))

    answer(1)

    assert [path for path, _body in calls] == ["/billing"]


def test_it_posts_the_message_once_after_the_chat_failed_three_times(chat, answer):
    base, calls = chat
    ChatReceiver.failures = 3
    subscribe(f"{base}/slack", "slack")

    answer(1)
    delivery = WebhookDelivery.objects.get()
    now = NOW + timedelta(hours=3)
    for wait in outbound.BACKOFF[:3]:
        now += wait
        outbound.webhook_delivery_send(delivery_id=delivery.pk, now=now)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 4, 200)
    assert len(calls) == 4 and len({json.dumps(body) for _path, body in calls}) == 1


def test_it_accepts_a_teams_subscription_for_one_team_through_the_api(api):
    team = Team.objects.create(name="Billing")
    body = {
        "url": "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/run",
        "format": "teams",
        "team": team.pk,
        "events": ["followup.created"],
    }

    response = api.post("/api/v1/webhooks", data=body, format="json")

    subscription = WebhookSubscription.objects.get()
    assert response.status_code == 201
    assert (response.json()["format"], response.json()["team"]) == ("teams", team.pk)
    assert (subscription.format, subscription.team) == ("teams", team)


def test_it_refuses_a_chat_subscription_to_update_events(api):
    body = {
        "url": "https://hooks.slack.com/services/T0/B0/x",
        "format": "slack",
        "events": ["followup.created", "followup.updated"],
    }

    response = api.post("/api/v1/webhooks", data=body, format="json")

    assert response.status_code == 400
    assert response.json()["events"] == [
        "A slack subscription is sent response.created and followup.created only, "
        "not followup.updated."
    ]
    assert WebhookSubscription.objects.count() == 0


def test_it_refuses_an_unknown_format_and_team(api):
    body = {"url": "https://hooks.slack.com/x", "format": "discord", "team": 999, "events": []}

    response = api.post("/api/v1/webhooks", data=body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"format", "team", "events"}
    assert WebhookSubscription.objects.count() == 0


def test_it_sends_standard_subscriptions_of_another_team_nothing(answer):
    outbound.subscription_create(
        url="https://hooks.example.com/",
        events=["followup.created"],
        team=Team.objects.create(name="Support"),
    )

    answer(1)

    assert WebhookDelivery.objects.count() == 0


def test_it_sends_a_team_subscription_the_updates_of_its_own_team_only(
    chat, answer, django_capture_on_commit_callbacks
):
    base, calls = chat
    billing, support = Team.objects.create(name="Billing"), Team.objects.create(name="Support")
    outbound.subscription_create(url=f"{base}/b", events=["followup.updated"], team=billing)
    outbound.subscription_create(url=f"{base}/s", events=["followup.updated"], team=support)
    answer(1)

    with django_capture_on_commit_callbacks(execute=True):
        followups.followup_status_set(
            followup=FollowUp.objects.get(), status="contacted", now=NOW + timedelta(hours=4)
        )

    [(path, body)] = calls
    assert (path, body["type"], body["data"]["status"]) == ("/b", "followup.updated", "contacted")


def test_it_lets_an_admin_add_a_teams_subscription_for_one_team(admin_client):
    team = Team.objects.create(name="Billing")
    form = {
        "url": "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/run",
        "format": "teams",
        "team": team.pk,
        "events": '["followup.created"]',
        "active": "on",
    }

    response = admin_client.post("/admin/integrations/webhooksubscription/add/", form)

    subscription = WebhookSubscription.objects.get()
    assert response.status_code == 302
    assert (subscription.format, subscription.team, subscription.events) == (
        "teams",
        team,
        ["followup.created"],
    )
    assert subscription.secret.startswith("whsec_")


def test_it_gives_a_subscription_switched_on_again_a_fresh_day(admin_client):
    subscription = outbound.subscription_create(
        url="https://hooks.slack.com/x", events=["followup.created"], format="slack"
    )
    WebhookSubscription.objects.update(active=False, failing_since=NOW - timedelta(days=2))
    form = {"url": subscription.url, "format": "slack", "events": '["followup.created"]'}
    form["active"] = "on"

    admin_client.post(f"/admin/integrations/webhooksubscription/{subscription.pk}/change/", form)

    subscription.refresh_from_db()
    assert (subscription.active, subscription.failing_since) == (True, None)


def test_it_shortens_a_long_comment_in_the_chat_message(chat, answer):
    base, calls = chat
    subscribe(f"{base}/slack", "slack")

    answer(1, comment="Waited forever.\n" * 40)

    [(_path, body)] = calls
    texts = [block["text"]["text"] for block in body["blocks"] if "text" in block]
    quote = next(text for text in texts if text.startswith(">"))
    assert len(quote) <= len("> ") + 300
    assert quote.endswith("Waited forever. Waited…")
