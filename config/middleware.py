"""Site-wide response headers: the Content-Security-Policy with a nonce on every HTML
page, and no caching of pages a signed-in user sees."""

from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponseBase


class NoncedCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the nonce in the header of every HTML response.

    django-csp adds the nonce only when a template used it; a page that used none would
    then carry a policy without one, and a later template change adding an inline
    style would break silently. Every HTML page names its nonce, used or not."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/html"):
            str(request.csp_nonce)  # type: ignore[attr-defined]
        return super().process_response(request, response)


class StaffNoStore:
    """Pages shown to a signed-in user carry customers' names and comments: no browser
    or proxy keeps a copy (`Cache-Control: no-store`), unless the view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store, private"
        return response
