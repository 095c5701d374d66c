from datetime import timedelta

import pytest

from surveys import rules
from tests.conftest import NOW


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sv-SE", "sv"),
        ("sv_SE", "sv"),
        ("nb", "nb"),
        ("no", "nb"),
        ("nn-NO", "nb"),
        ("da_DK", "da"),
        ("fi-FI", "fi"),
        ("fy-NL", "fy"),
        ("en-GB", "en"),
        ("de-DE", "en"),
        ("", "en"),
        (None, "en"),
        ("  SV  ", "sv"),
    ],
)
def test_locale_normalise_maps_helpdesk_codes(raw, expected):
    assert rules.locale_normalise(raw) == expected


def plan(**overrides):
    args = {
        "requester_email": "anna@example.se",
        "opted_out": False,
        "tags": [],
        "excluded_tags": ["no-survey"],
        "internal_domains": ["support.example"],
        "ces_enabled": True,
        "nps_enabled": True,
        "last_nps_at": None,
        "nps_interval_days": 90,
        "now": NOW,
    }
    return rules.survey_plan(**{**args, **overrides})


def test_survey_plan_asks_csat_ces_and_nps_first_time():
    assert plan().kinds == ("csat", "ces", "nps")


def test_survey_plan_skips_nps_within_interval():
    assert plan(last_nps_at=NOW - timedelta(days=89)).kinds == ("csat", "ces")
    assert plan(last_nps_at=NOW - timedelta(days=90)).kinds == ("csat", "ces", "nps")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"opted_out": True}, "customer opted out"),
        ({"requester_email": "boss@Support.example"}, "internal domain support.example"),
        ({"tags": ["vip", "No-Survey"]}, "ticket tagged no-survey"),
        (
            {"suppressed_reason": "postmark: bounced on 2026-11-20"},
            "email address suppressed: postmark: bounced on 2026-11-20",
        ),
        ({"suppressed_reason": ""}, "email address suppressed"),
    ],
)
def test_survey_plan_skips_with_reason(overrides, reason):
    result = plan(**overrides)
    assert result.kinds == ()
    assert result.skip_reason == reason


def test_send_block_reason_throttles_within_days():
    recent = NOW - timedelta(days=6, hours=23)
    assert "last 7 days" in rules.send_block_reason(
        opted_out=False, last_email_at=recent, throttle_days=7, now=NOW
    )
    assert (
        rules.send_block_reason(
            opted_out=False, last_email_at=NOW - timedelta(days=7), throttle_days=7, now=NOW
        )
        == ""
    )


def test_send_block_reason_names_the_suppression():
    reason = rules.send_block_reason(
        opted_out=False,
        last_email_at=None,
        throttle_days=7,
        now=NOW,
        suppressed_reason="sendgrid: marked as spam on 2026-11-20",
    )

    assert reason == "email address suppressed: sendgrid: marked as spam on 2026-11-20"


def test_retry_delay_grows():
    delays = [rules.retry_delay(n) for n in range(1, 5)]
    assert delays == [timedelta(minutes=m) for m in (1, 4, 16, 64)]


# Reminders


def reminder(**overrides):
    args = {
        "reminder_days": 3,
        "throttle_days": 7,
        "sent_at": NOW - timedelta(days=3),
        "expires_at": NOW + timedelta(days=27),
        "already_reminded": False,
        "answered": False,
        "ticket_reopened": False,
        "opted_out": False,
        "other_email_since": False,
        "now": NOW,
    }
    return rules.reminder_block_reason(**{**args, **overrides})


def test_reminder_goes_after_three_days():
    assert reminder() == ""
    assert reminder(sent_at=NOW - timedelta(days=3) + timedelta(seconds=1)) == "not due yet"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"reminder_days": 0}, "reminders are off"),
        ({"already_reminded": True}, "already reminded"),
        ({"answered": True}, "answered"),
        ({"opted_out": True}, "customer opted out"),
        ({"ticket_reopened": True}, "ticket reopened"),
        ({"expires_at": NOW}, "survey expired"),
        ({"sent_at": NOW - timedelta(days=7)}, "past the 7-day throttle"),
        ({"other_email_since": True}, "customer had another survey email since"),
        ({"suppressed_reason": "mailgun: bounced"}, "email address suppressed: mailgun: bounced"),
    ],
)
def test_reminder_blocked_with_reason(overrides, reason):
    assert reminder(**overrides) == reason


def test_reminder_without_throttle_goes_until_expiry():
    assert reminder(throttle_days=0, sent_at=NOW - timedelta(days=20)) == ""


# Telling people from mail scanners

SENT = NOW - timedelta(hours=1)


def judge(*clicks, rating_links=5):
    return rules.clicks_automated(
        [rules.Click(SENT + timedelta(seconds=s), link, m) for s, link, m in clicks],
        send_times=[SENT],
        rating_links=rating_links,
    )


def test_person_clicking_one_rating_is_not_automated():
    assert judge((600, "rating:4", "GET")) == [""]


def test_hidden_link_and_head_requests_are_automated():
    assert judge((600, "honeypot", "GET"), (900, "survey", "HEAD")) == [
        "hidden link fetched",
        "HEAD request",
    ]


def test_fetch_within_seconds_of_sending_is_automated():
    assert judge((3, "rating:1", "GET")) == ["fetched within seconds of sending"]


def test_different_links_within_seconds_are_automated_but_a_reload_is_not():
    burst = judge((600, "rating:2", "GET"), (605, "rating:3", "GET"))
    reload = judge((600, "rating:2", "GET"), (602, "rating:2", "GET"))
    assert burst == ["several links fetched within seconds"] * 2
    assert reload == ["", ""]


def test_every_rating_fetched_slowly_is_automated_and_a_later_click_is_not():
    clicks = [(600 + 60 * n, f"rating:{n}", "GET") for n in range(1, 6)]
    verdicts = judge(*clicks, (7200, "rating:4", "GET"))
    assert verdicts == ["every rating link fetched"] * 5 + [""]


@pytest.mark.parametrize(
    ("age", "reason"),
    [
        (None, "sent without the survey page's form token"),
        (0.4, "sent 0.4 s after the page was served"),
        (2.0, ""),
        (3600.0, ""),
    ],
)
def test_answer_hold_reason(age, reason):
    assert rules.answer_hold_reason(page_age_seconds=age, min_seconds=2.0) == reason
