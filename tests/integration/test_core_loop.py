"""The core loop on real components: a solved ticket comes in over the API, the survey
email goes out over SMTP, a mail scanner opens every link and records nothing, the
customer answers a low score, and the agent gets a follow-up case and an email."""

from __future__ import annotations

import gettext
import re
import urllib.parse
from pathlib import Path

import pytest

from followups.models import FollowUp
from surveys.models import Customer, Invitation, Response, Survey

from .conftest import (
    REPO,
    Browser,
    Stack,
    answer_survey,
    parse_html,
    ticket_event,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "anna@example.se"
AGENT = "lars@support.example"
SUBJECT_MSGID = "How did we do? Your feedback on “%(subject)s”"
ENGLISH_SUBJECT = SUBJECT_MSGID % {"subject": "Refund not received"}
SWEDISH = REPO / "locale" / "sv" / "LC_MESSAGES" / "django.mo"


def catalogue_subject(mo_file: Path) -> str:
    """The survey subject as the compiled catalogue translates it."""
    with mo_file.open("rb") as catalogue:
        translated = gettext.GNUTranslations(catalogue).gettext(SUBJECT_MSGID)
    return " ".join((translated % {"subject": "Refund not received"}).split())


def test_solved_ticket_to_survey_answer_follow_up_and_metrics(stack: Stack) -> None:
    api = stack.api()

    created = api.post("/api/v1/tickets", ticket_event())
    assert created.status == 201, created.body

    # The survey email, over SMTP.
    [mail] = stack.mailbox.wait_for(CUSTOMER)
    assert mail.rcpt_tos == [CUSTOMER]
    assert mail.message.get_content_type() == "multipart/alternative"
    text, html = mail.text, mail.html
    if SWEDISH.exists():
        # In Swedish, as the customer's locale says.
        assert mail.subject == catalogue_subject(SWEDISH), mail.subject
        assert mail.subject != ENGLISH_SUBJECT
        assert 'lang="sv"' in html
    else:
        assert mail.subject == ENGLISH_SUBJECT
    list_unsubscribe = mail.header("List-Unsubscribe") or ""
    assert re.fullmatch(r"<https?://[^<>\s]+>", list_unsubscribe), list_unsubscribe
    assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    unsubscribe_url = list_unsubscribe.strip("<>")

    links = parse_html(html).links
    rating_links = {int(m.group(1)): url for url in links if (m := re.search(r"\?csat=(\d)$", url))}
    assert sorted(rating_links) == [1, 2, 3, 4, 5], links
    assert unsubscribe_url in links
    assert rating_links[2] in text and unsubscribe_url in text
    survey_url = rating_links[2].split("?")[0]
    assert all(url.startswith(stack.web_url + "/") for url in links), links

    # A mail scanner opens every link (GET and HEAD): nothing may be recorded.
    scanner = Browser()
    for url in dict.fromkeys([*links, survey_url]):
        for method in ("GET", "HEAD"):
            result = scanner.request(method, url)
            if url in (*rating_links.values(), survey_url, unsubscribe_url):
                assert result.status == 200, (method, url, result.status, result.body[:500])
            else:  # e.g. a hidden trap link for scanners
                assert result.status < 500, (method, url, result.status, result.body[:500])
    assert not Response.objects.exists()
    assert Customer.objects.get(email=CUSTOMER).opted_out_at is None
    invitations = Invitation.objects.filter(survey__ticket__external_id="48213")
    assert sorted(invitations.values_list("kind", flat=True)) == ["ces", "csat", "nps"]
    assert set(
        Survey.objects.filter(ticket__external_id="48213").values_list("state", flat=True)
    ) == {"sent"}

    # The customer clicks 2, adds a comment and sends the form.
    person = Browser()
    page = person.request("GET", rating_links[2])
    assert page.status == 200, page.body[:1000]
    preselected = [
        i.get("value")
        for i in parse_html(page.body).inputs
        if i.get("name") == "csat" and "checked" in i
    ]
    assert preselected == ["2"], f"the clicked score is not chosen: {preselected}"
    comment = "The refund took three weeks and nobody answered my emails."
    answer = answer_survey(person, rating_links[2], {"csat": "2", "comment": comment})
    assert answer.status == 302, (answer.status, answer.body[:2000])
    thanks_url = survey_url + "thanks/"
    location = urllib.parse.urljoin(rating_links[2], answer.headers["Location"])
    assert location.split("?")[0] == thanks_url, location
    assert person.request("GET", location).status == 200
    stored = Response.objects.get()
    assert not getattr(stored, "held", False), getattr(stored, "held_reason", "")

    responses = api.get("/api/v1/responses?ticket=48213")
    assert responses.status == 200, responses.body
    [row] = responses.json()["results"]
    assert (row["kind"], row["raw_score"], row["comment"]) == ("csat", 2, comment)

    # A follow-up case for the agent, and an email to them with its link.
    def open_followup() -> dict | None:
        rows = api.get("/api/v1/followups?status=open").json()["results"]
        return next((r for r in rows if r["ticket"] == "48213"), None)

    followup = wait_until(open_followup, what="an open follow-up for ticket 48213")
    assert (followup["kind"], followup["score"], followup["owner"]) == ("csat", 2, AGENT)
    assert followup["customer"] == CUSTOMER
    assert followup["url"].startswith(stack.web_url + "/")
    [agent_mail] = stack.mailbox.wait_for(AGENT)
    assert agent_mail.rcpt_tos == [AGENT]
    assert followup["url"] in agent_mail.text
    assert followup["url"] in parse_html(agent_mail.html).links
    assert comment in agent_mail.text
    # The link leads to the case (through the login page: it is for agents only).
    case = Browser().request("GET", followup["url"])
    assert case.status == 302 and "login" in case.headers["Location"], case.status
    assert FollowUp.objects.get().owner_notified_at is not None

    # The metrics count the answer for Lars Holm.
    def lars_csat() -> dict | None:
        result = api.get("/api/v1/metrics?metric=csat&group_by=agent")
        assert result.status == 200, result.body
        rows = result.json()["results"]
        return next((r for r in rows if r["group"] == "Lars Holm" and r["answers"]), None)

    lars = wait_until(lars_csat, what="a CSAT row for Lars Holm")
    assert (lars["answers"], lars["satisfied"], lars["score"]) == (1, 0, 0.0), lars

    # Only ever one survey email to the customer.
    assert len(stack.mailbox.to(CUSTOMER)) == 1

    # The links are credentials: no log line of any process carries a token of them.
    tokens = {url.rstrip("/").split("/")[-1].split("?")[0] for url in (survey_url, unsubscribe_url)}
    assert all(len(token) >= 16 for token in tokens), tokens
    for name, log in ((p.name, p.output()) for p in stack.processes):
        leaked = [token for token in tokens if token in log]
        assert not leaked, f"{name} logged a link token"
    assert "/s/[token]/" in next(p.output() for p in stack.processes if p.name == "web")
