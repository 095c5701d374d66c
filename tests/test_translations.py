r"""The customer-facing translations: sv, nb, da, fi and fy catalogues in locale/.

When a translatable string is added or changed, run from the project root
(makemessages needs GNU gettext: `apt-get install gettext`):

    .venv/bin/python manage.py makemessages -l sv -l nb -l da -l fi -l fy \
        --ignore=.venv --ignore=tests --ignore=bench --no-obsolete

then translate every new, empty or fuzzy entry in locale/<lang>/LC_MESSAGES/django.po
(remove the `#, fuzzy` flag once it is right), and compile:

    .venv/bin/python manage.py compilemessages --ignore=.venv

Commit the .po and .mo files together: the .mo files are what Django reads, so a
machine without gettext still serves the translations. The tests below fail on an
empty or fuzzy entry, a placeholder lost in translation, or a .mo out of date.
"""

from __future__ import annotations

import gettext
import html
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils.html import strip_tags

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ["sv", "nb", "da", "fi", "fy"]
PLURAL_FORMS = {lang: "nplurals=2; plural=(n != 1);" for lang in LANGUAGES}
SURVEY_EMAIL_TEMPLATES = ("templates/emails/survey-subject.txt", "templates/emails/survey-body.")
# Every file with text a customer reads: the emails and the public pages.
CUSTOMER_EMAIL_TEMPLATES = (
    "templates/emails/survey-",
    "templates/emails/reminder-",
    "surveys/forms.py",
)
CUSTOMER_PAGE_TEMPLATES = (
    "templates/base.html",
    "templates/404.html",
    "templates/429.html",
    "templates/surveys/",
    "surveys/forms.py",
)


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The key the entry has in a compiled catalogue."""
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(token: str) -> str:
    assert token.startswith('"') and token.endswith('"'), token
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], token[1:-1])


def po_entries(path: Path) -> list[Entry]:
    """The entries of a .po file, header included; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    entry, target = Entry(), None
    started = False

    def finish() -> None:
        nonlocal entry, target, started
        if started:
            entries.append(entry)
        entry, target, started = Entry(), None, False

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#:"):
            entry.references.extend(line[2:].split())
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, kind, (getattr(entry, kind) or "") + _unquote(line))
        else:
            keyword, _, value = line.partition(" ")
            started = True
            plural = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if plural or keyword == "msgstr":
                index = int(plural.group(1)) if plural else 0
                entry.msgstr[index] = _unquote(value)
                target = ("msgstr", index)
            elif keyword in {"msgid", "msgctxt", "msgid_plural"}:
                setattr(entry, keyword, _unquote(value))
                target = (keyword, None)
            else:
                raise AssertionError(f"{path}: cannot read line {line!r}")
    finish()
    return entries


def catalogue(lang: str) -> tuple[Entry, list[Entry]]:
    """The header and the messages of a language's .po file."""
    entries = po_entries(LOCALE_DIR / lang / "LC_MESSAGES" / "django.po")
    headers = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(headers) == 1, f"{lang}: expected one header entry"
    return headers[0], [e for e in entries if e is not headers[0]]


def placeholders(text: str) -> Counter:
    """Named %(name)s placeholders, positional %s-style ones and {name} fields."""
    text = text.replace("%%", "")
    named = re.findall(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]", text)
    positional = re.findall(r"%[-#0 +]*\d*(?:\.\d+)?[sdifr]", text)
    braces = re.findall(r"\{\w*\}", text)
    return Counter([f"%({n})" for n in named] + positional + braces)


# Catalogues


def test_catalogue_languages_match_settings():
    configured = {code for code, _name in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    on_disk = {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/django.po")}
    assert configured == set(LANGUAGES) == on_disk


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_header_declares_language_charset_and_plurals(lang):
    header, _messages = catalogue(lang)
    fields = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    assert "fuzzy" not in header.flags
    assert fields["Language"] == lang
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == PLURAL_FORMS[lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_entries_are_translated_and_not_fuzzy(lang):
    _header, messages = catalogue(lang)
    assert messages, f"{lang}: no messages"
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    empty = [e.msgid for e in messages if not e.msgstr or not all(e.msgstr.values())]
    assert fuzzy == [], f"{lang}: fuzzy entries"
    assert empty == [], f"{lang}: untranslated entries"
    for e in messages:
        if e.msgid_plural is not None:
            assert len(e.msgstr) == 2, f"{lang}: {e.msgid!r} needs 2 plural forms"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_placeholders_match_msgid(lang):
    _header, messages = catalogue(lang)
    mismatched = []
    for e in messages:
        wanted = [placeholders(e.msgid)]
        if e.msgid_plural is not None:
            # The singular form may name the number in words instead of %(count)s.
            wanted.append(placeholders(e.msgid_plural))
        for form in e.msgstr.values():
            if placeholders(form) not in wanted:
                mismatched.append((e.msgid, form))
    assert mismatched == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_keeps_line_breaks_of_msgid(lang):
    _header, messages = catalogue(lang)
    for e in messages:
        for form in e.msgstr.values():
            assert form.count("\n") == e.msgid.count("\n"), (e.msgid, form)


def test_catalogues_have_the_same_messages_in_every_language():
    keys = {lang: {e.key for e in catalogue(lang)[1]} for lang in LANGUAGES}
    assert all(keys[lang] == keys[LANGUAGES[0]] for lang in LANGUAGES), {
        lang: sorted(keys[lang] ^ keys[LANGUAGES[0]]) for lang in LANGUAGES
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogue_matches_po(lang):
    """The .mo holds exactly the .po's translations: compilemessages was run."""
    mo_path = LOCALE_DIR / lang / "LC_MESSAGES" / "django.mo"
    assert mo_path.exists(), f"{mo_path} missing: run compilemessages"
    with mo_path.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert compiled.info()["language"] == lang
    assert compiled.charset().lower() == "utf-8"
    _header, messages = catalogue(lang)
    expected: dict[object, str] = {}
    for e in messages:
        if e.msgid_plural is None:
            expected[e.key] = e.msgstr[0]
        else:
            expected.update({(e.key, n): form for n, form in e.msgstr.items()})
    actual = {k: v for k, v in compiled._catalog.items() if k != ""}
    stale = {k: (actual.get(k), v) for k, v in expected.items() if actual.get(k) != v}
    extra = sorted(str(k) for k in actual.keys() - expected.keys())
    assert stale == {}, f"{lang}: .mo differs from .po, run compilemessages"
    assert extra == [], f"{lang}: .mo has entries the .po no longer has"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_passes_msgfmt_check(lang):
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--output-file=/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# What customers see

AGENT = "Lars Holm"  # the assignee of tests.conftest.ticket_event
SUBJECT = "Refund not received"


@dataclass(frozen=True)
class Expected:
    subject: str
    greeting: str
    helped: str
    question: str
    send: str
    score_range: str
    stop_emails: str
    not_found: str
    reminder_subject: str
    wait: str
    low_prompt: str


EXPECTED = {
    "sv": Expected(
        subject=f"Hur gick det? Tyck till om ”{SUBJECT}”",
        greeting="Hej Kim!",
        helped=f"{AGENT} hjälpte dig nyligen med ”{SUBJECT}”.",
        question="Hur nöjd är du med supporten du fick?",
        send="Skicka mitt svar",
        score_range="Välj ett betyg från 1 till 5.",
        stop_emails="Vill du sluta få enkätmejl?",
        not_found="Vi kunde inte hitta sidan",
        reminder_subject=f"Påminnelse: tyck till om ”{SUBJECT}”",
        wait="Vänta en stund",
        low_prompt="Vad kunde vi ha gjort bättre?",
    ),
    "nb": Expected(
        subject=f"Hvordan gikk det? Si din mening om «{SUBJECT}»",
        greeting="Hei Kim!",
        helped=f"{AGENT} hjalp deg nylig med «{SUBJECT}».",
        question="Hvor fornøyd er du med hjelpen du fikk?",
        send="Send svaret mitt",
        score_range="Velg et tall fra 1 til 5.",
        stop_emails="Vil du slutte å få undersøkelser på e-post?",
        not_found="Vi fant ikke denne siden",
        reminder_subject=f"Påminnelse: si din mening om «{SUBJECT}»",
        wait="Vent litt",
        low_prompt="Hva kunne vi ha gjort bedre?",
    ),
    "da": Expected(
        subject=f"Hvordan klarede vi os? Giv os din mening om »{SUBJECT}«",
        greeting="Hej Kim,",
        helped=f"{AGENT} hjalp dig for nylig med »{SUBJECT}«.",
        question="Hvor tilfreds er du med den hjælp, du fik?",
        send="Send mit svar",
        score_range="Vælg et tal fra 1 til 5.",
        stop_emails="Vil du ikke længere have undersøgelser på mail?",
        not_found="Vi kunne ikke finde siden",
        reminder_subject=f"Påmindelse: giv os din mening om »{SUBJECT}«",
        wait="Vent et øjeblik",
        low_prompt="Hvad kunne vi have gjort bedre?",
    ),
    "fi": Expected(
        subject=f"Miten onnistuimme? Kerro mielipiteesi asiasta ”{SUBJECT}”",
        greeting="Hei Kim!",
        helped=f"{AGENT} auttoi sinua hiljattain asiassa ”{SUBJECT}”.",
        question="Kuinka tyytyväinen olit saamaasi tukeen?",
        send="Lähetä vastaukseni",
        score_range="Valitse arvosana väliltä 1\N{EN DASH}5.",
        stop_emails="Haluatko lopettaa palautekyselyt?",
        not_found="Emme löytäneet tätä sivua",
        reminder_subject=f"Muistutus: kerro mielipiteesi asiasta ”{SUBJECT}”",
        wait="Odota hetki",
        low_prompt="Mitä olisimme voineet tehdä paremmin?",
    ),
    "fy": Expected(
        subject=f"Hoe hawwe wy it dien? Jo miening oer „{SUBJECT}”",
        greeting="Hoi Kim,",
        helped=f"{AGENT} hat jo koartlyn holpen mei „{SUBJECT}”.",
        question="Hoe tefreden wiene jo oer de stipe dy't jo krigen hawwe?",
        send="Myn antwurd ferstjoere",
        score_range="Kies in sifer fan 1 oant 5.",
        stop_emails="Ophâlde mei enkête-e-mails?",
        not_found="Wy koene dizze side net fine",
        reminder_subject=f"Herinnering: jo miening oer „{SUBJECT}”",
        wait="Wachtsje efkes",
        low_prompt="Wat hiene wy better dwaan kinnen?",
    ),
}
ENGLISH_QUESTION = "How satisfied were you with the support you received?"


def customer(lang: str) -> dict[str, str]:
    return {"email": f"kim.{lang}@example.com", "name": "Kim Laine", "locale": lang}


def english_sentences(references: tuple[str, ...]) -> set[str]:
    """The English text of the messages used in these files, cut at placeholders
    and line breaks, keeping the pieces long enough to be unmistakably English."""
    _header, messages = catalogue(LANGUAGES[0])
    pieces = set()
    for e in messages:
        if any(ref.startswith(references) for ref in e.references):
            for piece in re.split(r"%\(\w+\)s|\n", e.msgid):
                if len(piece.strip(" ,.:?!“”")) >= 6:
                    pieces.add(piece.strip())
    assert pieces
    return pieces


def visible(page: str) -> str:
    """The text of an HTML page as a reader sees it: no tags, entities decoded."""
    return html.unescape(strip_tags(page))


def assert_no_english(text: str, sentences: set[str]) -> None:
    left = sorted(s for s in sentences if s in text)
    assert left == [], "English left untranslated"


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_survey_email_is_in_customer_language(lang, sent_survey, mailoutbox):
    sent_survey(requester=customer(lang))

    message = mailoutbox[-1]
    page = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    want = EXPECTED[lang]
    assert message.subject == want.subject
    assert f'<html lang="{lang}">' in page
    for line in (want.greeting, want.helped, want.question):
        assert line in message.body
        assert line in visible(page)
    assert ENGLISH_QUESTION not in message.body + visible(page)
    english = english_sentences(SURVEY_EMAIL_TEMPLATES)
    assert_no_english(message.subject, english)
    assert_no_english(message.body, english)
    assert_no_english(visible(page), english)


@pytest.mark.django_db
def test_survey_email_stays_english_for_english_customer(sent_survey, mailoutbox):
    sent_survey(requester=customer("en"))

    message = mailoutbox[-1]
    page = message.alternatives[0][0]
    assert message.subject == f"How did we do? Your feedback on “{SUBJECT}”"
    assert ENGLISH_QUESTION in message.body
    assert ENGLISH_QUESTION in visible(page)
    assert '<html lang="en">' in page


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_survey_page_is_in_customer_language(lang, client, sent_survey):
    _ticket, token = sent_survey(requester=customer(lang))

    page = client.get(f"/s/{token}/?csat=4")

    text = page.content.decode()
    want = EXPECTED[lang]
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in text
    assert 'value="4" checked' in text
    assert want.question in visible(text)
    assert want.send in visible(text)
    assert ENGLISH_QUESTION not in visible(text)
    english = english_sentences(("templates/surveys/survey.html", "surveys/forms.py"))
    assert_no_english(visible(text), english)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_survey_page_error_is_in_customer_language(lang, client, sent_survey):
    _ticket, token = sent_survey(requester=customer(lang))

    page = client.post(f"/s/{token}/", {"csat": "9"})

    assert page.status_code == 400
    text = visible(page.content.decode())
    assert EXPECTED[lang].score_range in text
    assert "Please choose a score" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_unsubscribe_page_is_in_customer_language(lang, client, sent_survey, mailoutbox):
    sent_survey(requester=customer(lang))
    url = mailoutbox[-1].extra_headers["List-Unsubscribe"].strip("<>")

    page = client.get(url.removeprefix(settings.SITE_URL))

    text = page.content.decode()
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in text
    assert EXPECTED[lang].stop_emails in visible(text)
    assert "Stop feedback emails?" not in visible(text)


@pytest.mark.django_db
def test_not_found_page_is_english_without_customer_context(client):
    page = client.get("/s/bogus-token/")

    text = page.content.decode()
    assert page.status_code == 404
    assert '<html lang="en">' in text
    assert "We could not find this page" in visible(text)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_not_found_page_follows_browser_language(lang, client):
    page = client.get("/s/bogus-token/", headers={"accept-language": lang})

    text = page.content.decode()
    assert page.status_code == 404
    assert f'<html lang="{lang}">' in text
    assert EXPECTED[lang].not_found in visible(text)


def customer_pages(client, time_machine, token: str, unsubscribe: str) -> dict[str, str]:
    """The visible text of every page a customer can reach, in the order they may."""
    from tests.test_survey_page import answer

    pages = {
        "survey": client.get(f"/s/{token}/?csat=2"),
        "survey error": client.post(f"/s/{token}/", {"csat": "9"}),
        "honeypot": client.get(f"/s/{token}/h/"),
        "thanks": answer(client, time_machine, token, {"csat": "2"}, query="", seconds=5),
        "unsubscribe": client.get(unsubscribe),
        "unsubscribed": client.post(unsubscribe),
        "resubscribed": client.post(unsubscribe, {"action": "resubscribe"}),
    }
    pages["thanks"] = client.get(pages["thanks"]["Location"])
    time_machine.shift(timedelta(days=8))
    pages["closed"] = client.get(f"/s/{token}/")
    time_machine.shift(timedelta(days=30))
    client.post(unsubscribe, {"action": "resubscribe"})
    pages["not found"] = client.get(f"/s/{token}x/")
    settings.SURVEY_RATE_LIMIT = "1/m"
    cache.clear()
    client.get(f"/s/{token}x/")
    pages["too many"] = client.get(f"/s/{token}x/")
    del settings.SURVEY_RATE_LIMIT
    return {name: page.content.decode() for name, page in pages.items()}


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_customer_page_and_email_is_translated(
    lang, client, sent_survey, mailoutbox, time_machine
):
    from surveys import reminders
    from surveys.models import Invitation

    cache.clear()
    _ticket, token = sent_survey(requester=customer(lang))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
    invitation = Invitation.objects.get(kind="csat")
    reminders.survey_reminder_send(
        survey_id=invitation.survey_id, now=invitation.survey.sent_at + timedelta(days=3, minutes=1)
    )
    survey_email, reminder = mailoutbox[-2:]
    unsubscribe = survey_email.extra_headers["List-Unsubscribe"].strip("<>")
    pages = customer_pages(client, time_machine, token, unsubscribe[len(settings.SITE_URL) :])

    want = EXPECTED[lang]
    assert reminder.subject == want.reminder_subject
    assert want.low_prompt in visible(pages["survey"])
    assert want.wait in visible(pages["too many"])
    english_mail = english_sentences(CUSTOMER_EMAIL_TEMPLATES)
    for message in (survey_email, reminder):
        html_part = message.alternatives[0][0]
        assert f'<html lang="{lang}">' in html_part
        for text in (message.subject, message.body, visible(html_part)):
            assert_no_english(text, english_mail)
    english_pages = english_sentences(CUSTOMER_PAGE_TEMPLATES)
    for name, page in pages.items():
        assert f'<html lang="{lang}">' in page, name
        assert_no_english(visible(page), english_pages)


RECOVERY_TEMPLATES = (
    "templates/emails/recovery-",
    "templates/followups/recovery.html",
    "followups/forms.py",
)
RECOVERY_QUESTION = {
    "sv": "Lyckades vi lösa det?",
    "nb": "Fikk vi løst det?",
    "da": "Fik vi løst det?",
    "fi": "Saimmeko asian ratkaistua?",
    "fy": "Hawwe wy it oplost?",
}


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_recovery_email_and_page_are_in_customer_language(lang, client, mailoutbox):
    from followups import recovery
    from followups import services as followups
    from tests.test_recovery import link, open_case

    followup = open_case(locale=lang)
    followups.followup_status_set(followup=followup, status="resolved")
    recovery.recovery_send(followup_id=followup.pk, now=followup.created_at)
    message = mailoutbox[-1]
    page = client.get(link(message) + "?answer=no").content.decode()
    error = client.post(link(message), {"comment": "x"}).content.decode()

    html_part = message.alternatives[0][0]
    assert f'<html lang="{lang}">' in html_part
    assert f'<html lang="{lang}">' in page
    assert RECOVERY_QUESTION[lang] in visible(html_part)
    assert RECOVERY_QUESTION[lang] in visible(page)
    english = english_sentences(RECOVERY_TEMPLATES)
    for text in (message.subject, message.body, visible(html_part), visible(page), visible(error)):
        assert_no_english(text, english)
