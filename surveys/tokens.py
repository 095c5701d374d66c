"""Survey link tokens: 256 random bits, only their SHA-256 is stored."""

import hashlib
import secrets


def token_new() -> tuple[str, str]:
    """Return (token for the link, hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
