"""The banner on staff pages when something is wrong (the checks that read only the
database: fast, and right even when Redis or the workers are away)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .services import health_checks


def health_banner(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    if request.path.startswith(("/s/", "/r/", "/u/", "/admin/")):
        return {}
    problems = [check for check in health_checks(live=False) if not check.ok]
    return {"health_problems": problems}
