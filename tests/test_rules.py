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


def test_retry_delay_grows():
    delays = [rules.retry_delay(n) for n in range(1, 5)]
    assert delays == [timedelta(minutes=m) for m in (1, 4, 16, 64)]
