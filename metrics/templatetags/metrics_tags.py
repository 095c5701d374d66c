"""Display rounding for report figures: numbers stay exact until here, and are shown
in the reader's language (81.3 % in English, 81,3 % in Swedish)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.dateformat import format as date_format
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from metrics.charts import svg_nonced
from metrics.selectors import MIN_ANSWERS

register = template.Library()

NONE = "\u2013"  # an en dash: no figure
MINUS = "\u2212"


def _number(value: Any) -> float | None:
    """A figure, or None for a missing one (templates give '' for a missing attribute)."""
    if value is None or value == "":
        return None
    return float(value)


def _localized(value: float, digits: int) -> str:
    """Rounded for display, with the language's decimal mark."""
    return number_format(round(value, digits), decimal_pos=digits)


@register.filter
def pct(value: float | None, digits: int = 1) -> str:
    """81.25 -> '81.3 %' ('81,3 %' in Swedish); None -> an en dash."""
    value = _number(value)
    return NONE if value is None else f"{_localized(value, digits)} %"


@register.filter
def num(value: float | None, digits: int = 1) -> str:
    value = _number(value)
    return NONE if value is None else _localized(value, digits)


@register.filter
def signed(value: float | None, digits: int = 1) -> str:
    """A change, always with its sign: +2.5, -1.0."""
    value = _number(value)
    if value is None:
        return NONE
    text = _localized(abs(value), digits)
    return f"-{text}" if round(value, digits) < 0 else f"+{text}"


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as the largest sensible units: '2 h 05 min', '3 d 4 h', '45 s'."""
    seconds = _number(seconds)
    if seconds is None:
        return NONE
    seconds = round(seconds)
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": seconds}
    minutes, _s = divmod(seconds, 60)
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


# A day as each language writes it in a report line: 9 Oct 2026, 9 okt 2026, 9. okt 2026,
# 9.10.2026; with and without the year.
DAY_FORMATS = {
    "en": ("j M Y", "j M"),
    "sv": ("j b Y", "j b"),
    "nb": ("j. b Y", "j. b"),
    "da": ("j. b Y", "j. b"),
    "fi": ("j.n.Y", "j.n."),
    "fy": ("j b Y", "j b"),
}


@register.filter(expects_localtime=True)
def day(value: Any, year: bool = True) -> str:
    """A date in the reader's language: '9 Oct 2026' in English, '9 okt 2026' in Swedish."""
    if not value:
        return NONE
    formats = DAY_FORMATS.get(get_language() or "en", DAY_FORMATS["en"])
    return date_format(value, formats[0] if year else formats[1])


@register.filter(expects_localtime=True)
def day_short(value: Any) -> str:
    """day() without the year."""
    return day(value, year=False)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def money(value: Any) -> str:
    if value is None or value == "":
        return NONE
    return number_format(value, decimal_pos=2, force_grouping=True)


@register.simple_tag
def score_cell(score: Any, links: dict[str, str], big: bool = False) -> str:
    """A score with its formula on hover and beside it, every count linking to the
    answers behind it, the 95 % interval, and a mark when too few to compare.

    A tag rather than an included template: a dashboard has hundreds of these.
    """
    if score.value is None:
        return format_html(
            '<span class="text-body-secondary" title="{}">{}</span>', score.formula, NONE
        )
    value = signed(score.value) if score.metric == "nps" else pct(score.value)
    css = "kp-score kp-score-big" if big else "kp-score"
    head = format_html(
        '<a href="{}" class="{}" title="{}">{}</a>', links["denominator"], css, score.formula, value
    )
    if score.too_few:
        head += format_html(
            ' <span class="badge text-bg-warning kp-too-few" title="{}">{}</span>',
            _("Fewer than %(count)d answers: too few to compare") % {"count": MIN_ANSWERS},
            _("few answers"),
        )
    if score.metric == "nps":
        counts = format_html(
            '= <a href="{}">{}</a> {} {} <a href="{}">{}</a> {} <a href="{}">{}</a>',
            links["numerator"], score.promoters, _("promoters"), MINUS,
            links["detractors"], score.detractors, _("detractors of"),
            links["denominator"], score.denominator,
        )  # fmt: skip
    else:
        counts = format_html(
            '= <a href="{}">{}</a> {} / <a href="{}">{}</a> {}',
            links["numerator"], score.numerator, score.numerator_label,
            links["denominator"], score.denominator, score.denominator_label,
        )  # fmt: skip
    interval = (
        format_html(
            '<br><span class="kp-ci">{} {}{}{}</span>',
            _("%(level)d %% CI") % {"level": 95},
            num(score.interval.low),
            NONE,
            num(score.interval.high),
        )
        if score.interval
        else ""
    )
    return format_html(
        '{}<div class="kp-formula small text-body-secondary">{}{}</div>', head, counts, interval
    )


# The people table's columns, as its header names them.
COLUMN_LABELS = {
    "csat": "CSAT",
    "ces": "CES",
    "nps": "NPS",
    "response_rate": gettext_lazy("Response rate"),
    "answers": gettext_lazy("Answers"),
    "open": gettext_lazy("Open cases"),
    "overdue": gettext_lazy("Overdue"),
}


@register.filter
def column_label(column: str) -> str:
    return str(COLUMN_LABELS.get(column, column))


@register.filter
def split(value: str) -> list[str]:
    return value.split()


@register.filter
def nonced(svg: str, nonce: Any) -> str:
    """An inline chart SVG whose <style> carries the page's CSP nonce."""
    return svg_nonced(str(svg), str(nonce))
