"""A guard for the email providers' tracking webhooks (django-anymail's views, under
/anymail/): a body that claims to be JSON but is not, nests too deep or carries a NUL
character is a 400 before anymail reads it, and a body that is JSON of a shape the
provider never sends (anymail's view fails on it) is a 400 too, logged with its
traceback. Never a 500: the provider would retry one for hours."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from surveys.untrusted import UntrustedJSONError, json_read

logger = logging.getLogger(__name__)

PREFIX = "/anymail/"
# What anymail's views raise on a body of an unexpected shape.
SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


class ProviderWebhookGuard:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path.startswith(PREFIX):
            body = request.body
            # Amazon SES (through SNS) posts JSON as text/plain: judge by the body too.
            claims_json = "json" in request.content_type or body.lstrip()[:1] in (b"{", b"[")
            if claims_json:
                try:
                    json_read(body)
                except UntrustedJSONError as exc:
                    return JsonResponse({"detail": str(exc)}, status=400)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(PREFIX) or not isinstance(exception, SHAPE_ERRORS):
            return None
        logger.error(
            "email provider webhook %s: body of an unexpected shape",
            request.path,
            exc_info=exception,
        )
        return JsonResponse({"detail": "The body is not an event this webhook takes."}, status=400)
