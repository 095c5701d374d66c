"""Staff pages in the staff member's language: their own choice (their settings page),
else the browser's (Django's LocaleMiddleware, which runs first)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils import translation

from .models import StaffSettings


class StaffLanguage:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._apply(request, user.pk)
        return self.get_response(request)

    def _apply(self, request: HttpRequest, user_id: int) -> None:
        chosen, seen = (
            StaffSettings.objects.filter(user_id=user_id)
            .values_list("language", "browser_language")
            .first()
        ) or ("", None)
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen  # type: ignore[attr-defined]
            return
        asked = translation.get_language()
        if asked != seen:  # remembered for the emails Kundpuls sends this person
            StaffSettings.objects.update_or_create(
                user_id=user_id, defaults={"browser_language": asked}
            )
