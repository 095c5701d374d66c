"""Who is surveyed when: pure functions of the facts, no database, no clock."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

SUPPORTED_LANGUAGES = ("en", "sv", "nb", "da", "fi", "fy")

# Codes helpdesks send that are not our language codes but mean one of them.
_LANGUAGE_ALIASES = {
    "no": "nb",
    "nn": "nb",
    "nob": "nb",
    "nno": "nb",
    "swe": "sv",
    "dan": "da",
    "fin": "fi",
    "fry": "fy",
    "eng": "en",
}


def locale_normalise(raw: str | None) -> str:
    """Map a helpdesk locale (`sv-SE`, `nb_NO`, `no`, `da_DK`, `fy-NL`...) to a language
    Kundpuls speaks, falling back to English."""
    if not raw:
        return "en"
    primary = re.split(r"[-_.@]", raw.strip().lower(), maxsplit=1)[0]
    primary = _LANGUAGE_ALIASES.get(primary, primary)
    return primary if primary in SUPPORTED_LANGUAGES else "en"


@dataclass(frozen=True)
class SurveyPlan:
    """The kinds to ask about a solved ticket, or why none are asked."""

    kinds: tuple[str, ...]
    skip_reason: str = ""


def survey_plan(
    *,
    requester_email: str,
    opted_out: bool,
    tags: Iterable[str],
    excluded_tags: Iterable[str],
    internal_domains: Iterable[str],
    ces_enabled: bool,
    nps_enabled: bool,
    last_nps_at: datetime | None,
    nps_interval_days: int,
    now: datetime,
) -> SurveyPlan:
    if opted_out:
        return SurveyPlan((), "customer opted out")
    domain = requester_email.rsplit("@", 1)[-1].lower()
    if any(domain == d.lower().lstrip("@") for d in internal_domains):
        return SurveyPlan((), f"internal domain {domain}")
    hit = sorted({t.lower() for t in tags} & {t.lower() for t in excluded_tags})
    if hit:
        return SurveyPlan((), f"ticket tagged {hit[0]}")
    kinds = ["csat"]
    if ces_enabled:
        kinds.append("ces")
    if nps_enabled and nps_due(last_nps_at=last_nps_at, interval_days=nps_interval_days, now=now):
        kinds.append("nps")
    return SurveyPlan(tuple(kinds))


def nps_due(*, last_nps_at: datetime | None, interval_days: int, now: datetime) -> bool:
    return last_nps_at is None or now - last_nps_at >= timedelta(days=interval_days)


def send_block_reason(
    *, opted_out: bool, last_email_at: datetime | None, throttle_days: int, now: datetime
) -> str:
    """Why a due survey email must not go out now ("" when it may)."""
    if opted_out:
        return "customer opted out"
    if last_email_at is not None and now - last_email_at < timedelta(days=throttle_days):
        return f"customer had a survey email in the last {throttle_days} days"
    return ""


def retry_delay(attempt: int) -> timedelta:
    """Backoff after a temporary send failure: 1, 4, 16, 64 minutes..."""
    return timedelta(minutes=4 ** max(attempt - 1, 0))


MAX_SEND_ATTEMPTS = 5
