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
