import pytest

from surveys import services
from surveys.models import Customer
from tests.conftest import _validated, ticket_event

pytestmark = pytest.mark.django_db


def unsubscribe_path(message):
    return message.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")


def test_unsubscribe_get_asks_and_changes_nothing(client, sent_survey, mailoutbox):
    sent_survey()

    page = client.get(unsubscribe_path(mailoutbox[0]))

    assert page.status_code == 200
    assert b"Stop feedback emails?" in page.content
    assert Customer.objects.get().opted_out_at is None


def test_one_click_post_without_cookies_unsubscribes(client, sent_survey, mailoutbox):
    sent_survey()
    client.cookies.clear()

    answer = client.post(unsubscribe_path(mailoutbox[0]), {"List-Unsubscribe": "One-Click"})

    assert answer.status_code == 200
    assert answer.cookies == {}
    assert b"You are unsubscribed" in answer.content
    assert Customer.objects.get().opted_out_at is not None


def test_unsubscribed_customer_gets_no_later_survey(client, sent_survey, mailoutbox, settings):
    sent_survey()
    client.post(unsubscribe_path(mailoutbox[0]))
    settings.SURVEY_SEND_DELAY = 0

    result = services.ticket_ingest(event=_validated(ticket_event(external_id="99")))

    assert set(result.ticket.surveys.values_list("state", flat=True)) == {"suppressed"}
    assert len(mailoutbox) == 1


def test_resubscribe_undoes_opt_out(client, sent_survey, mailoutbox):
    sent_survey()
    path = unsubscribe_path(mailoutbox[0])
    client.post(path)

    client.post(path, {"action": "resubscribe"})

    assert Customer.objects.get().opted_out_at is None


def test_tampered_unsubscribe_link_is_404(client, sent_survey, mailoutbox):
    sent_survey()

    page = client.post(unsubscribe_path(mailoutbox[0])[:-3] + "xx/")

    assert page.status_code == 404
    assert Customer.objects.get().opted_out_at is None


def test_one_click_post_as_mail_clients_send_it(client, sent_survey, mailoutbox):
    sent_survey()

    answer = client.post(
        unsubscribe_path(mailoutbox[0]),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert answer.status_code == 200
    assert Customer.objects.get().is_opted_out


def test_unsubscribe_head_changes_nothing(client, sent_survey, mailoutbox):
    sent_survey()

    client.head(unsubscribe_path(mailoutbox[0]))

    assert Customer.objects.get().opted_out_at is None


def test_unsubscribe_page_offers_language_switch_and_keeps_it(client, sent_survey, mailoutbox):
    sent_survey()
    path = unsubscribe_path(mailoutbox[0])

    page = client.get(f"{path}?lang=da").content.decode()
    done = client.post(f"{path}?lang=da").content.decode()

    assert "Vil du ikke længere have undersøgelser på mail?" in page
    assert f'<form method="post" action="{path}?lang=da">' in page
    assert "Du er afmeldt" in done


def test_opted_out_customer_sees_the_way_back_in(client, sent_survey, mailoutbox):
    sent_survey()
    path = unsubscribe_path(mailoutbox[0])
    client.post(path)

    page = client.get(path)

    assert b'value="resubscribe"' in page.content
    assert b"Changed your mind? Subscribe again" in page.content


def _after_days(time_machine, days):
    from datetime import timedelta

    from django.utils import timezone

    time_machine.move_to(timezone.now() + timedelta(days=days), tick=False)


def test_an_old_unsubscribe_link_changes_nothing(client, sent_survey, mailoutbox, time_machine):
    sent_survey()
    path = unsubscribe_path(mailoutbox[0])
    _after_days(time_machine, 91)

    page = client.get(path)
    posted = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert (page.status_code, posted.status_code) == (410, 410)
    assert b"This link has expired" in posted.content
    assert Customer.objects.get().opted_out_at is None


def test_an_old_link_still_works_on_day_89(client, sent_survey, mailoutbox, time_machine):
    sent_survey()
    path = unsubscribe_path(mailoutbox[0])
    _after_days(time_machine, 89)

    answer = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert answer.status_code == 200
    assert Customer.objects.get().opted_out_at is not None


def test_an_expired_link_mails_a_fresh_one_once(
    client, sent_survey, mailoutbox, time_machine, django_capture_on_commit_callbacks
):
    from surveys.tasks import invitations_sweep

    sent_survey()
    path = unsubscribe_path(mailoutbox[0])
    _after_days(time_machine, 120)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        pages = [client.post(path, {"action": "fresh-link"}) for _ in range(3)]
    invitations_sweep(), invitations_sweep()

    assert [p.status_code for p in pages] == [200, 200, 200]
    assert b"Check your inbox" in pages[0].content
    assert [m.to for m in mailoutbox] == [["anna@example.se"]]
    fresh = mailoutbox[0].body.split("\n")[3].removeprefix("http://testserver")
    assert client.post(fresh, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Customer.objects.get().opted_out_at is not None


def test_the_fresh_link_email_speaks_the_customers_language(
    client, sent_survey, mailoutbox, time_machine
):
    from surveys.tasks import invitations_sweep

    sent_survey(requester={"email": "anna@example.se", "name": "Anna", "locale": "sv"})
    path = unsubscribe_path(mailoutbox[0])
    _after_days(time_machine, 120)
    mailoutbox.clear()

    client.post(path, {"action": "fresh-link"})
    invitations_sweep()

    assert mailoutbox[0].subject.startswith("Din länk för att sluta få enkätmejl")
