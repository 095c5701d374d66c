import re
from datetime import timedelta

import pytest
from django.core.cache.backends.base import BaseCache

from tests.conftest import NOW

pytestmark = pytest.mark.django_db


def public_pages(client, sent_survey, mailoutbox, time_machine):
    """Every page a customer can see, as (name, response)."""
    _ticket, token = sent_survey(tags=["vip", "order-4711"])
    unsubscribe = mailoutbox[-1].extra_headers["List-Unsubscribe"].strip("<>")
    unsubscribe = unsubscribe.removeprefix("http://testserver")
    pages = [
        ("survey", client.get(f"/s/{token}/?csat=3")),
        ("error", client.post(f"/s/{token}/", {"csat": "99"})),
        ("thanks", client.get(f"/s/{token}/thanks/")),
        ("honeypot", client.get(f"/s/{token}/h/")),
        ("unsubscribe", client.get(unsubscribe)),
        ("unsubscribed", client.post(unsubscribe)),
        ("not found", client.get("/s/nope/")),
    ]
    time_machine.move_to(NOW + timedelta(days=31), tick=False)
    return [*pages, ("expired", client.get(f"/s/{token}/"))]


def test_public_pages_are_private(client, sent_survey, mailoutbox, time_machine):
    for name, page in public_pages(client, sent_survey, mailoutbox, time_machine):
        assert "no-store" in page["Cache-Control"], name
        assert page["Referrer-Policy"] == "no-referrer", name
        assert "default-src 'self'" in page["Content-Security-Policy"].split("; "), name
        assert page.cookies == {}, name
        text = page.content.decode()
        assert "anna@example.se" not in text, name
        assert "order-4711" not in text, name


def test_public_pages_load_nothing_from_other_hosts(client, sent_survey, mailoutbox, time_machine):
    for name, page in public_pages(client, sent_survey, mailoutbox, time_machine):
        text = page.content.decode()
        loads = re.findall(r'<(?:script|img|link|iframe)[^>]+(?:src|href)="([^"]+)"', text)
        loads += re.findall(r'<form[^>]+action="([^"]+)"', text)
        assert loads, name
        assert all(url.startswith(("/", "data:")) for url in loads), (name, loads)
        assert "<script>" not in text and " style=" not in text, name


def test_csp_allows_only_own_scripts_and_the_nonce_style(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/")

    csp = dict(part.split(" ", 1) for part in page["Content-Security-Policy"].split("; "))
    nonce = re.search(r"'nonce-([^']+)'", csp["style-src"]).group(1)
    assert csp["script-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert f'<style nonce="{nonce}">' in page.content.decode()


def test_only_unknown_links_count_against_the_rate_limit(client, sent_survey):
    """Many customers behind one address (an office, a carrier's NAT) open their valid
    links as often as they like; someone guessing tokens is stopped."""
    _ticket, token = sent_survey()

    valid = [client.get(f"/s/{token}/").status_code for _ in range(40)]
    misses = [client.get(f"/s/bogus-{n}/").status_code for n in range(30)]
    blocked = client.get(f"/s/bogus-{token}/?lang=sv")

    assert set(valid) == {200}
    assert set(misses) == {404}
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "60"
    assert "Vänta en stund" in blocked.content.decode()
    assert client.get(f"/s/{token}/").status_code == 200  # its valid link still opens
    assert client.get("/s/bogus/", REMOTE_ADDR="192.0.2.7").status_code == 404


def test_forged_unsubscribe_links_count_against_the_rate_limit(
    client, settings, sent_survey, mailoutbox
):
    settings.SURVEY_RATE_LIMIT = "2/m"
    sent_survey()
    path = mailoutbox[-1].extra_headers["List-Unsubscribe"].strip("<>")[len("http://testserver") :]

    statuses = [client.get(path).status_code for _ in range(3)]
    forged = [client.post(path[:-4] + f"xx{n}/").status_code for n in range(3)]
    one_click = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert statuses == [200, 200, 200]
    assert forged == [404, 404, 429]
    assert one_click.status_code == 200  # mail providers post for many customers at once


class AwayCache(BaseCache):
    """A cache whose server is down, as django-redis with IGNORE_EXCEPTIONS acts."""

    def __init__(self, location, params):
        super().__init__(params)

    def add(self, *args, **kwargs):
        return None

    def incr(self, *args, **kwargs):
        return None

    def get(self, key, default=None, version=None):
        return default


def test_rate_limit_fails_open_when_the_cache_is_away(client, settings, sent_survey):
    _ticket, token = sent_survey()
    settings.CACHES = {"default": {"BACKEND": "tests.test_survey_privacy.AwayCache"}}
    settings.SURVEY_RATE_LIMIT = "1/m"

    statuses = [client.get(f"/s/{token}/").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1", "10.0.0.1"),
        (1, "203.0.113.9", "10.0.0.1", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "10.0.0.1", "203.0.113.9"),
        (2, "203.0.113.9, 10.0.0.2", "10.0.0.1", "203.0.113.9"),
        (1, "", "10.0.0.1", "10.0.0.1"),
        (0, "", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
    ],
)
def test_rate_limit_key_is_the_client_address(settings, rf, proxies, forwarded, remote, expected):
    from surveys.pages import client_address

    settings.SURVEY_TRUSTED_PROXIES = proxies
    request = rf.get("/s/x/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address("surveys.public", request) == expected
