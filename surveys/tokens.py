"""Survey link tokens: 256 bits, only their SHA-256 is stored.

A survey's link tokens are derived from its random link key and the SECRET_KEY, so a
send tried again (after a failure or a crash) carries the links of the first try,
and neither the database nor the key alone gives a token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings


def token_new() -> tuple[str, str]:
    """Return (token for the link, hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_token(*, link_key: str, purpose: str) -> tuple[str, str]:
    """The (token, hash) of a survey's link: the same every time for one survey and
    purpose ("survey" or "reminder")."""
    message = f"kundpuls.survey-link:{purpose}:{link_key}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return token, token_hash(token)


def embedded_token(*, source: str, external_id: str) -> str:
    """The token a helpdesk's own email carries for one of its tickets, when its
    rating buttons are embedded there (signed): written into a ticket field through
    the helpdesk's API, the same every time, and nobody can make it without the
    SECRET_KEY."""
    message = f"kundpuls.embedded:{source}:{external_id}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()
