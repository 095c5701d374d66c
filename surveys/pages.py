"""What every customer page gets (the survey, the recovery survey, unsubscribe):
privacy headers (no-store, no referrer, no cookies, nothing from another host), a
rate limit by IP on unknown links, and the language switch (?lang=, carried in the
page's own links)."""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_ratelimit.core import get_usage

from . import rules

# Each language's name in itself, for the language switch.
LANGUAGE_NAMES = {
    "en": "English",
    "sv": "Svenska",
    "nb": "Norsk",
    "da": "Dansk",
    "fi": "Suomi",
    "fy": "Frysk",
}


def miss_limited(request: HttpRequest) -> bool:
    """Count a request for an unknown or tampered link against its address; True once
    the address has made more of them than a person does (SURVEY_RATE_LIMIT, default
    30 a minute): someone is guessing tokens. The pages of a valid link never count,
    so many customers behind one address (an office, a carrier's NAT) are never
    turned away. When the cache (Redis) is away the count cannot be kept and
    django-ratelimit reports a limit of 0: nothing is limited."""
    usage = get_usage(
        request,
        group="surveys.misses",
        key=client_address,
        rate=settings.SURVEY_RATE_LIMIT,
        increment=True,
    )
    return bool(usage and usage["should_limit"] and usage["limit"] > 0)


def link_unknown(request: HttpRequest, message: str) -> HttpResponse:
    """The answer to an unknown or tampered link: 404, or 429 for an address that is
    guessing (miss_limited)."""
    if miss_limited(request):
        return too_many(request)
    raise Http404(message)


def client_address(group: str, request: HttpRequest) -> str:
    """Where a request came from. Behind SURVEY_TRUSTED_PROXIES proxies (default 0),
    the address the outermost one saw: each proxy appends the address it was
    reached from to X-Forwarded-For, so earlier entries may be forged. IPv6
    addresses count per /64, as one home or phone has a whole /64."""
    proxies = settings.SURVEY_TRUSTED_PROXIES
    forwarded = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",")]
    forwarded = [a for a in forwarded if a]
    address = forwarded[-proxies] if proxies and len(forwarded) >= proxies else ""
    address = address or request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def chosen_language(request: HttpRequest) -> str:
    """The language picked with the switch, "" when none (or not one we speak)."""
    lang = request.GET.get("lang", "")
    return lang if lang in rules.SUPPORTED_LANGUAGES else ""


def public_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    switch: bool = True,
) -> HttpResponse:
    """Render a customer-facing page with its privacy headers and language switch.

    The Content-Security-Policy (with the nonce the page's inline style uses) is set
    for every page by django-csp's middleware (config.settings)."""
    language = translation.get_language()
    context = {"language_links": "", **context}
    if switch:
        context["language_links"] = language_links(request, language)
    return private_headers(render(request, template, context, status=status))


def private_headers(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def language_links(request: HttpRequest, current: str, keep: dict[str, str] | None = None) -> str:
    """The language switch (base.html shows it): links that show this page in another
    language, keeping a preselected score (or the page's own `keep` parameters). Built
    here rather than in the template: every customer page shows it."""
    if keep is None:
        keep = {k: v for k, v in request.GET.items() if k in ("csat",) and v.isdigit()}
    links = format_html_join(
        "",
        '<li><a href="{}" lang="{}" hreflang="{}"{}>{}</a></li>',
        (
            (
                f"{request.path}?{urlencode({**keep, 'lang': code})}",
                code,
                code,
                _CURRENT if code == current else "",
                LANGUAGE_NAMES[code],
            )
            for code in rules.SUPPORTED_LANGUAGES
        ),
    )
    return format_html(
        '<nav class="kp-langs" aria-label="{}">\n    <ul>{}</ul>\n  </nav>',
        translation.gettext("Language"),
        links,
    )


_CURRENT = mark_safe(' aria-current="true"')


def with_lang(url: str, chosen: str) -> str:
    return f"{url}?{urlencode({'lang': chosen})}" if chosen else url


def too_many(request: HttpRequest) -> HttpResponse:
    language = chosen_language(request) or translation.get_language()
    with translation.override(language):
        response = public_page(request, "429.html", {}, status=429, switch=False)
    response["Retry-After"] = "60"
    return response


# --- Links in logs ------------------------------------------------------------------

# A survey (/s/), recovery (/r/) or unsubscribe (/u/) link's token is a bearer
# credential: whoever has it answers or unsubscribes. Only its hash is stored, and
# logs show the path with the token replaced.
_LINK_TOKEN = re.compile(r"/([sru])/[A-Za-z0-9_\-:.%]{16,}")


def links_redacted(text: str) -> str:
    """The text with every survey, recovery and unsubscribe link token replaced."""
    return _LINK_TOKEN.sub(r"/\1/[token]", text)


class RedactLinks(logging.Filter):
    """A logging filter: request paths in messages (Django's "Not Found: /s/...",
    runserver's request lines) lose their link tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = links_redacted(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                links_redacted(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
