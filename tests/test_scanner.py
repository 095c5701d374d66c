"""A mail scanner (Safe Links, Mimecast, Proofpoint...) opens every link of every email
the moment it arrives, from a pool of addresses: it must record nothing, and its
fetches must be filtered from the click counts. A person answering afterwards is
counted as usual."""

import re
from datetime import timedelta

import pytest

from metrics.models import ScoreRollup
from surveys import sending, services, tasks
from surveys.models import Customer, Invitation, LinkClick, Response, Survey
from tests.conftest import NOW, _validated, ticket_event
from tests.test_survey_page import answer

pytestmark = pytest.mark.django_db

EMAILS = 50
SENT = NOW + timedelta(hours=1)


def links_of(message) -> list[str]:
    html = next(c for c, mimetype in message.alternatives if mimetype == "text/html")
    found = re.findall(r'href="(http://testserver/[^"]+)"', html)
    found += re.findall(r"http://testserver/\S+", message.body)
    return sorted({link.replace("&amp;", "&").removeprefix("http://testserver") for link in found})


@pytest.fixture
def fifty_emails(mailoutbox, time_machine):
    time_machine.move_to(NOW, tick=False)
    for n in range(EMAILS):
        event = ticket_event(external_id=str(1000 + n), requester={"email": f"c{n}@example.se"})
        ticket = services.ticket_ingest(event=_validated(event), now=NOW).ticket
        sending.survey_email_send(ticket_id=ticket.pk, now=SENT)
    assert len(mailoutbox) == EMAILS
    return list(mailoutbox)


def test_scanner_fetching_every_link_records_nothing_and_is_filtered(
    client, fifty_emails, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(SENT + timedelta(seconds=2), tick=True)
    for n, message in enumerate(fifty_emails):
        scanner = {"REMOTE_ADDR": f"198.51.100.{n}", "HTTP_USER_AGENT": "Scanner/1.0"}
        for link in links_of(message):
            for fetch in (client.get, client.head):
                assert fetch(link, **scanner).status_code == 200, link
    with django_capture_on_commit_callbacks(execute=True):
        tasks.clicks_sweep()  # the worker judges the fetches

    assert Response.objects.count() == 0
    assert Customer.objects.filter(opted_out_at__isnull=False).count() == 0
    surveys = Survey.objects.all()
    assert surveys.filter(state="sent").count() == surveys.count() == EMAILS
    assert Invitation.objects.count() == 3 * EMAILS
    assert surveys.filter(bot_suspect_at__isnull=True).count() == 0
    assert surveys.filter(first_clicked_at__isnull=False).count() == 0
    assert LinkClick.objects.filter(automated_reason="").count() == 0


def test_person_answering_after_the_scanner_is_counted(
    client, fifty_emails, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(SENT + timedelta(seconds=2), tick=False)
    message = fifty_emails[7]
    for link in links_of(message):
        client.get(link, REMOTE_ADDR="198.51.100.7")
        client.head(link, REMOTE_ADDR="198.51.100.7")
    time_machine.move_to(SENT + timedelta(hours=2), tick=False)
    token = re.search(r"/s/([\w-]+)/", message.body).group(1)

    with django_capture_on_commit_callbacks(execute=True):
        answer(client, time_machine, token, {"csat": "4"}, query="?csat=4", seconds=20)
        tasks.clicks_sweep()  # the worker judges the fetches

    response = Response.objects.get()
    assert (response.raw_score, response.held) == (4, False)
    invitation = response.invitation
    assert invitation.survey.bot_suspect_at is not None  # the scanner's fetches stay filtered
    assert invitation.survey.first_clicked_at == SENT + timedelta(hours=2)  # the person's click
    assert sum(ScoreRollup.objects.values_list("count", flat=True)) == 1


def test_report_funnel_counts_scanned_emails_as_filtered(
    client, fifty_emails, time_machine, django_capture_on_commit_callbacks
):
    from metrics.check import rollups_differences
    from metrics.models import InvitationRollup

    time_machine.move_to(SENT + timedelta(seconds=2), tick=False)
    for link in links_of(fifty_emails[0]):
        client.get(link, REMOTE_ADDR="198.51.100.1")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.clicks_sweep()  # the worker judges the fetches

    steps = dict(InvitationRollup.objects.values_list("step", "count"))
    assert (steps["sent"], steps["bot"], steps.get("clicked", 0)) == (EMAILS, 1, 0)
    assert rollups_differences() == []


def test_a_page_view_only_stores_its_fetch_and_the_sweep_judges_it_once(
    client, fifty_emails, time_machine
):
    time_machine.move_to(SENT + timedelta(minutes=5), tick=False)
    [link] = [link for link in links_of(fifty_emails[0]) if "csat=4" in link]
    client.get(link, REMOTE_ADDR="203.0.113.9")
    survey = Survey.objects.get(ticket__external_id="1000")
    assert survey.first_clicked_at is None

    assert tasks.clicks_sweep() == 1
    assert tasks.clicks_sweep() == 0  # beat running it twice judges nothing twice

    survey.refresh_from_db()
    assert survey.first_clicked_at == SENT + timedelta(minutes=5)
    assert LinkClick.objects.filter(judged_at__isnull=True).count() == 0
    assert LinkClick.objects.get().automated_reason == ""


def test_a_click_sent_by_the_page_judges_the_fetches_the_sweep_has_not(
    client, fifty_emails, time_machine
):
    """A scanner that runs the page's script: its fetches are judged before its click
    counts, however long the sweep takes to come by."""
    from tests.test_click_counts import click

    time_machine.move_to(SENT + timedelta(seconds=2), tick=False)
    message = fifty_emails[3]
    for link in [link for link in links_of(message) if "/h/" not in link]:
        client.get(link, REMOTE_ADDR="198.51.100.3", HTTP_USER_AGENT="Scanner/1.0")
    token = re.search(r"/s/([\w-]+)/", message.body).group(1)

    click(client, time_machine, token)

    assert Response.objects.get().held is True
