"""`manage.py screenshots --out screenshots/`: PNGs of what a customer sees.

The survey email (HTML part, light and dark) and every page (survey, thank-you,
expired, unsubscribe, unsubscribed) in every language, 360 and 1280 px wide, plus
the star and face scales and the reminder email in English. It makes a throwaway
database, fills it with one survey per language, serves it with Django's live
server in a thread and drives Debian's headless Chromium; the usual database is not
touched. Needs /usr/bin/chromium (apt-get install chromium).
"""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core import mail
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connection, connections
from django.test.testcases import LiveServerThread
from django.test.utils import override_settings
from django.utils import timezone

from surveys import reminders, rules, sending, services
from surveys.models import Survey, SurveyPolicy
from surveys.tokens import token_hash

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WIDTHS = (360, 1280)
SUBJECTS = {
    "en": "Refund not received",
    "sv": "Återbetalningen har inte kommit",
    "nb": "Refusjonen har ikke kommet",
    "da": "Refusionen er ikke modtaget",
    "fi": "Hyvitystä ei ole tullut",
    "fy": "Weromjefte net ûntfongen",
}


class Command(BaseCommand):
    help = "Write PNG screenshots of the survey email and pages in every language."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="screenshots", help="Folder for the PNGs.")
        parser.add_argument(
            "--languages", default=",".join(rules.SUPPORTED_LANGUAGES), help="e.g. en,sv"
        )

    def handle(self, *args: Any, out: str, languages: str, **options: Any) -> None:
        if not Path(CHROMIUM).exists():
            raise CommandError(f"{CHROMIUM} is missing: apt-get install chromium")
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API
        db = settings.DATABASES["default"]
        if db["ENGINE"] == "django.db.backends.sqlite3":
            (Path(settings.BASE_DIR) / "var").mkdir(exist_ok=True)
            db.setdefault("TEST", {})["NAME"] = str(
                Path(settings.BASE_DIR) / "var" / "screenshots.sqlite3"
            )
        else:
            db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_screenshots"
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        try:
            if server.error:
                raise server.error
            base = f"http://127.0.0.1:{server.port}"
            with override_settings(
                SITE_URL=base,
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                SURVEY_RATE_LIMIT="100000/m",
            ):
                mail.outbox = []
                shots = self._shoot(base, folder, languages.split(","))
        finally:
            server.terminate()
            _destroy_test_db(old_name)
        self.stdout.write(f"{shots} screenshots in {folder}/")

    def _shoot(self, base: str, folder: Path, languages: list[str]) -> int:
        from playwright.sync_api import sync_playwright

        policy, _created = SurveyPolicy.objects.update_or_create(
            pk=1,
            defaults={
                "company_name": "Nordvik Outdoor",
                "website_url": "https://www.example.com/",
                "brand_color": "#0b6e4f",
            },
        )
        policy.logo, policy.logo_type = demo_logo(), "image/png"
        policy.save()
        shots = 0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for lang in languages:
                    pages = _survey_pages(base, lang)
                    for width in WIDTHS:
                        shots += _capture(browser, folder, lang, width, pages)
                shots += self._variants(browser, base, folder)
            finally:
                browser.close()
                # The ORM calls made beside Playwright's event loop have connections
                # of their own: close them, or the throwaway database stays in use.
                connections.close_all()
        return shots

    def _variants(self, browser: Any, base: str, folder: Path) -> int:
        """The star and face scales, and the reminder email, in English."""
        shots = 0
        for style in ("stars", "faces"):
            _style_set(style)
            pages = _survey_pages(base, "en", suffix=style, only=("email", "survey"))
            for width in WIDTHS:
                shots += _capture(browser, folder, "en", width, pages)
        _style_set("numbers")
        reminder = _reminder_html("en")
        for width in WIDTHS:
            shots += _capture(browser, folder, "en", width, {"reminder-email": ("html", reminder)})
        return shots


def _destroy_test_db(old_name: str) -> None:
    """Drop the throwaway database once the server's request threads let go of it."""
    for attempt in range(20):
        try:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            return
        except OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.5)


def _capture(browser: Any, folder: Path, lang: str, width: int, pages: dict) -> int:
    for name, (kind, value) in pages.items():
        schemes = ("light", "dark") if name.endswith("email") else ("light",)
        for scheme in schemes:
            context = browser.new_context(
                viewport={"width": width, "height": 740}, color_scheme=scheme
            )
            page = context.new_page()
            if kind == "html":
                page.set_content(value, wait_until="load")
            else:
                page.goto(value, wait_until="load")
            suffix = "-dark" if scheme == "dark" else ""
            page.screenshot(path=str(folder / f"{lang}-{name}{suffix}-{width}.png"), full_page=True)
            context.close()
    return sum(2 if name.endswith("email") else 1 for name in pages)


_counter = iter(range(10_000))


def _survey_pages(
    base: str, lang: str, suffix: str = "", only: tuple[str, ...] = ()
) -> dict[str, tuple[str, str]]:
    """One sent survey (and an expired and an opted-out one) in a language; the
    email's HTML and the addresses of its pages."""
    token, html = _sent_survey(lang)
    expired_token, _html = _sent_survey(lang)
    Survey.objects.filter(links__token_hash=token_hash(expired_token)).update(
        expires_at=timezone.now() - timedelta(days=1), state=Survey.State.EXPIRED
    )
    message = mail.outbox[-1]
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    opted_out_token, _html = _sent_survey(lang)
    opted_out = Survey.objects.filter(links__token_hash=token_hash(opted_out_token)).first()
    services.customer_opt_out(customer=opted_out.customer)
    unsubscribed = mail.outbox[-1].extra_headers["List-Unsubscribe"].strip("<>")
    pages = {
        "email": ("html", html),
        "survey": ("url", f"{base}/s/{token}/?csat=2"),
        "thanks": ("url", f"{base}/s/{token}/thanks/"),
        "expired": ("url", f"{base}/s/{expired_token}/"),
        "unsubscribe": ("url", unsubscribe),
        "unsubscribed": ("url", unsubscribed),
    }
    named = {f"{name}-{suffix}" if suffix else name: v for name, v in pages.items()}
    if only:
        named = {k: v for k, v in named.items() if k.rsplit("-", 1)[0] in only or k in only}
    return named


def _sent_survey(lang: str) -> tuple[str, str]:
    n = next(_counter)
    now = timezone.now()
    event = {
        "source": "screenshots",
        "external_id": f"{lang}-{n}",
        "subject": SUBJECTS.get(lang, SUBJECTS["en"]),
        "status": "solved",
        "channel": "email",
        "requester": {"email": f"kim.{lang}.{n}@example.com", "name": "Kim Laine", "locale": lang},
        "assignee": {"email": "lars@support.example", "name": "Lars Holm"},
        "created_at": now - timedelta(days=1),
        "solved_at": now - timedelta(hours=2),
    }
    ticket = services.ticket_ingest(event=event, now=now - timedelta(hours=2)).ticket
    sending.survey_email_send(ticket_id=ticket.pk, now=now - timedelta(minutes=30))
    message = mail.outbox[-1]
    token = re.search(r"/s/([A-Za-z0-9_-]+)/", message.body).group(1)
    html = next(c for c, mimetype in message.alternatives if mimetype == "text/html")
    return token, html


def _reminder_html(lang: str) -> str:
    token, _html = _sent_survey(lang)
    survey = Survey.objects.filter(links__token_hash=token_hash(token)).first()
    later = survey.sent_at + timedelta(days=3, minutes=1)
    reminders.survey_reminder_send(survey_id=survey.pk, now=later)
    message = mail.outbox[-1]
    return next(c for c, mimetype in message.alternatives if mimetype == "text/html")


def demo_logo(width: int = 160, height: int = 40) -> bytes:
    """A made-up logo: a green mountain on white, as a PNG (no imaging library)."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # PNG filter type: none
        for x in range(width):
            peak = abs(x - 20) <= (y - 6) * 0.9 and y > 6
            small = abs(x - 34) <= (y - 16) * 0.9 and y > 16
            bar = 52 <= x <= 150 and y in range(16, 24)
            row += bytes((11, 110, 79)) if peak or small or bar else bytes((255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _style_set(style: str) -> None:
    """Saved, not updated: saving drops the policy this process keeps (SurveyPolicy.load)."""
    policy = SurveyPolicy.objects.get(pk=1)
    policy.csat_style = style
    policy.save()
