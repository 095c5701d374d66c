"""Who is surveyed when: pure functions of the facts, no database, no clock."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

SUPPORTED_LANGUAGES = ("en", "sv", "nb", "da", "fi", "fy")
# A survey comment is kept up to this many characters.
COMMENT_MAX_CHARS = 5000

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


def category_key(raw: str | None) -> str:
    """A ticket category as Kundpuls matches it: case and spacing do not count, so
    "Returns", "returns " and "RETURNS" are one category (its display name is the
    Category row's, which an admin may edit)."""
    return " ".join((raw or "").split()).casefold()[:100]


def category_name(raw: str | None) -> str:
    """The name a new category is first shown by: as written, spacing tidied."""
    return " ".join((raw or "").split())[:100]


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
    suppressed_reason: str | None = None,
) -> SurveyPlan:
    """`suppressed_reason` is None unless the email provider reported the address
    undeliverable or a complaint (then it says which; see suppression_text)."""
    if opted_out:
        return SurveyPlan((), "customer opted out")
    if suppressed_reason is not None:
        return SurveyPlan((), suppression_text(suppressed_reason))
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


def suppression_text(reason: str) -> str:
    """The reason shown on an invitation not sent to a suppressed address."""
    return f"email address suppressed: {reason}" if reason else "email address suppressed"


def send_block_reason(
    *,
    opted_out: bool,
    last_email_at: datetime | None,
    throttle_days: int,
    now: datetime,
    suppressed_reason: str | None = None,
) -> str:
    """Why a due survey email must not go out now ("" when it may)."""
    if opted_out:
        return "customer opted out"
    if suppressed_reason is not None:
        return suppression_text(suppressed_reason)
    if last_email_at is not None and now - last_email_at < timedelta(days=throttle_days):
        return f"customer had a survey email in the last {throttle_days} days"
    return ""


def retry_delay(attempt: int, jitter: float = 0.0) -> timedelta:
    """Backoff after a temporary send failure: 1, 4, 16, 64 minutes..., stretched or
    shrunk by the fraction `jitter` (say -0.2 to 0.2, drawn by the caller)."""
    return timedelta(minutes=4 ** max(attempt - 1, 0)) * (1 + jitter)


MAX_SEND_ATTEMPTS = 5


# --- Reminders -----------------------------------------------------------------------


def reminder_block_reason(
    *,
    reminder_days: int,
    throttle_days: int,
    sent_at: datetime,
    expires_at: datetime | None,
    already_reminded: bool,
    answered: bool,
    ticket_reopened: bool,
    opted_out: bool,
    other_email_since: bool,
    now: datetime,
    suppressed_reason: str | None = None,
) -> str:
    """Why the one reminder of a survey email must not go out now ("" when it may).

    It goes `reminder_days` after the email, once, to a customer who has not
    answered, whose ticket stayed solved and who has had no other survey email
    since; and never later than the throttle allows a next survey email, so the
    reminder and a new survey never crowd each other.
    """
    age = now - sent_at
    if not reminder_days:
        return "reminders are off"
    if already_reminded:
        return "already reminded"
    if answered:
        return "answered"
    if opted_out:
        return "customer opted out"
    if suppressed_reason is not None:
        return suppression_text(suppressed_reason)
    if ticket_reopened:
        return "ticket reopened"
    if age < timedelta(days=reminder_days):
        return "not due yet"
    if expires_at is not None and now >= expires_at:
        return "survey expired"
    if throttle_days and age >= timedelta(days=throttle_days):
        return f"past the {throttle_days}-day throttle"
    if other_email_since:
        return "customer had another survey email since"
    return ""


# --- Telling people from mail scanners -------------------------------------------------

# Links fetched this soon after the email left, or this close to a fetch of another
# of its links, were fetched by a machine: a person reads before clicking, and
# clicks one link.
SEND_GRACE = timedelta(seconds=10)
BURST = timedelta(seconds=10)


@dataclass(frozen=True)
class Click:
    at: datetime
    link: str  # "rating:4", "survey" or "honeypot"
    method: str = "GET"


def clicks_automated(
    clicks: list[Click], *, send_times: Iterable[datetime], rating_links: int
) -> list[str]:
    """For each fetch of one email's links, why it looks automated ("" if it does not).

    A fetch is automated when it is of the hidden link, a HEAD request, within
    SEND_GRACE of the email leaving, within BURST of a fetch of a different link,
    or the first fetch of a rating link once every rating link was fetched.
    """
    sends = [s for s in send_times if s is not None]
    every_rating = (
        rating_links > 0
        and len({c.link for c in clicks if c.link.startswith("rating:")}) >= rating_links
    )
    seen: set[str] = set()
    reasons = []
    for click in clicks:
        first_fetch = click.link not in seen
        seen.add(click.link)
        reasons.append(_click_reason(click, clicks, sends, every_rating and first_fetch))
    return reasons


def _click_reason(
    click: Click, clicks: list[Click], sends: list[datetime], every_rating: bool
) -> str:
    if click.link == "honeypot":
        return "hidden link fetched"
    if click.method.upper() == "HEAD":
        return "HEAD request"
    for sent in sends:
        if timedelta(0) <= click.at - sent < SEND_GRACE:
            return "fetched within seconds of sending"
    if any(o.link != click.link and abs(o.at - click.at) <= BURST for o in clicks):
        return "several links fetched within seconds"
    if every_rating and click.link.startswith("rating:"):
        return "every rating link fetched"
    return ""


def answer_hold_reason(*, page_age_seconds: float | None, min_seconds: float) -> str:
    """Why an answer is held for review ("" when it counts): it came without the
    page's form token, or sooner after the page was served than a person answers."""
    if page_age_seconds is None:
        return "sent without the survey page's form token"
    if page_age_seconds < min_seconds:
        return f"sent {max(page_age_seconds, 0):.1f} s after the page was served"
    return ""
