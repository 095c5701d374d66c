"""The banner on staff pages when something is wrong (the checks that read only the
database: right even when Redis or the workers are away), worked out at most every
BANNER_SECONDS rather than on every page."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .services import health_checks

BANNER_KEY = "operations:health-banner:2"  # :2 since the checks carry translated texts
BANNER_SECONDS = 30


def health_banner(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    # Lazy: worked out only by a template that shows the banner (base_app.html).
    return {"health_problems": SimpleLazyObject(_problems)}


def _problems() -> list[Any]:
    return cache.get_or_set(
        BANNER_KEY,
        lambda: [check for check in health_checks(live=False) if not check.ok],
        BANNER_SECONDS,
    )
