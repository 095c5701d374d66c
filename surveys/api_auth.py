"""API keys: `Authorization: Bearer <key>`; only a hash of the key is stored."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from . import sql
from .models import ApiKey


class ApiClient:
    """The caller behind an API key; DRF sees it as an authenticated user."""

    is_authenticated = True
    is_active = True

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return self.key.name


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, name: str, admin: bool = False) -> tuple[ApiKey, str]:
    """Make a key (an admin key may also erase and export customers' data); the plain
    key is returned once and never stored."""
    prefix = secrets.token_hex(4)
    key = f"kp_{prefix}_{secrets.token_urlsafe(32)}"
    return ApiKey.objects.create(name=name, prefix=prefix, key_hash=_hash(key), admin=admin), key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[ApiClient, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _sep, key = header.partition(" ")
        if scheme != self.keyword:
            return None
        key = key.strip()
        api_key = sql.first(ApiKey, key_hash=_hash(key)) if key else None
        if api_key is None or api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > timezone.timedelta(
            minutes=1
        ):
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiClient(api_key), api_key

    def authenticate_header(self, request: Any) -> str:
        return f'{self.keyword} realm="api"'
