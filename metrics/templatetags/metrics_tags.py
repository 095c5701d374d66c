"""Display rounding for report figures: numbers stay exact until here."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

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


@register.filter
def pct(value: float | None, digits: int = 1) -> str:
    """81.25 -> '81.3 %'; None -> an en dash."""
    value = _number(value)
    return NONE if value is None else f"{value:.{digits}f} %"


@register.filter
def num(value: float | None, digits: int = 1) -> str:
    value = _number(value)
    return NONE if value is None else f"{value:.{digits}f}"


@register.filter
def signed(value: float | None, digits: int = 1) -> str:
    """A change, always with its sign: +2.5, -1.0."""
    value = _number(value)
    return NONE if value is None else f"{value:+.{digits}f}"


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as the largest sensible units: '2 h 05 min', '3 d 4 h', '45 s'."""
    seconds = _number(seconds)
    if seconds is None:
        return NONE
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, _s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def money(value: Any) -> str:
    return NONE if value is None or value == "" else f"{value:,.2f}"


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
            ' <span class="badge text-bg-warning kp-too-few" title="{}">too few</span>',
            f"Fewer than {MIN_ANSWERS} answers: too few to compare",
        )
    if score.metric == "nps":
        counts = format_html(
            '= <a href="{}">{}</a> promoters {} <a href="{}">{}</a> detractors of '
            '<a href="{}">{}</a>',
            links["numerator"], score.promoters, MINUS, links["detractors"], score.detractors,
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
            '<br><span class="kp-ci">95 % CI {}{}{}</span>',
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


@register.filter
def nonced(svg: str, nonce: Any) -> str:
    """An inline chart SVG whose <style> carries the page's CSP nonce."""
    return svg_nonced(str(svg), str(nonce))
