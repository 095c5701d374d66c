"""Charts drawn on the server as inline SVG with pygal: no JavaScript, no CDN.

Each chart keeps its numbers (Chart.series) so the page can show them as a table
beside the picture, and each point carries its formula as an SVG <title>, so a
mouse over a point shows it and a screen reader reads it. Points link to the
responses behind them.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field, replace

import pygal
from django.core.cache import cache
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

# Colour-blind-safe (Okabe-Ito), dark enough on white to read in print.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#6c757d",
    opacity="1",
    opacity_hover=".7",
    colors=COLOURS,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=11,
    tooltip_font_size=12,
)
CHART_CACHE_SECONDS = 3600
_LABEL = re.compile(r'<desc class="label">(.*?)</desc>')
# pygal writes a config script for its (unused) tooltip JavaScript: pages run no
# inline script, so it goes. Its hidden tooltip group is hidden by an attribute
# instead of an inline style, which the Content-Security-Policy refuses.
_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.DOTALL)
_STYLE_TAG = "<style"


@dataclass(frozen=True)
class Point:
    value: float | None
    label: str = ""
    href: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    points: list[Point]


@dataclass
class Chart:
    """A chart and the numbers it shows (for the table beside it)."""

    title: str
    x_labels: list[str]
    series: list[Series]
    unit: str = ""
    svg: SafeString = field(default_factory=lambda: mark_safe(""))

    @property
    def rows(self) -> list[tuple[str, list[Point]]]:
        """The numbers by x label, one point per series."""
        return [
            (label, [s.points[i] for s in self.series]) for i, label in enumerate(self.x_labels)
        ]


def _config(title: str, **extra: object) -> dict[str, object]:
    return {
        "title": title,
        "no_data_text": _("No data"),
        "style": STYLE,
        "js": [],  # pygal's tooltip script comes from a CDN: never load it
        "disable_xml_declaration": True,
        "width": 760,
        "height": 340,
        "explicit_size": False,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "margin": 12,
        "margin_bottom": 28,
        "print_values": False,
        "show_minor_x_labels": False,
        "truncate_label": -1,
        "truncate_legend": -1,
        **extra,
    }


def _render(chart: pygal.graph.graph.Graph, data: Chart, description: str) -> Chart:
    """The chart's SVG, from the cache when the same numbers were drawn before
    (pygal takes some 30 ms a chart; the numbers change only with new answers)."""
    key = (
        "metrics:chart:"
        + hashlib.sha256(
            repr(
                (
                    type(chart).__name__,
                    translation.get_language(),
                    data.title,
                    data.x_labels,
                    data.series,
                    description,
                )
            ).encode()
        ).hexdigest()
    )

    def draw() -> str:
        svg = chart.render(is_unicode=True)
        # A native tooltip per point: its formula and counts.
        svg = _LABEL.sub(r'<title>\1</title><desc class="label">\1</desc>', svg)
        svg = _SCRIPT.sub("", svg).replace(' style="opacity: 0"', ' opacity="0"')
        label = html.escape(f"{data.title}. {description}", quote=True)
        return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)

    svg = cache.get_or_set(key, draw, CHART_CACHE_SECONDS)
    data.svg = mark_safe(svg)  # noqa: S308 -- pygal escapes every text it writes
    return data


def _values(series: Series) -> list[dict[str, object] | None]:
    values: list[dict[str, object] | None] = []
    for point in series.points:
        if point.value is None:
            values.append(None)
            continue
        value: dict[str, object] = {"value": point.value, "label": point.label or series.name}
        if point.href:
            value["xlink"] = {"href": point.href, "target": "_self"}
        values.append(value)
    return values


def line_chart(
    *,
    title: str,
    x_labels: list[str],
    series: list[Series],
    unit: str = "",
    y_range: tuple[float, float] | None = None,
    description: str = "",
) -> Chart:
    """A line per series over periods (days, weeks or months).

    Texts may be lazy translations: they are turned into text in the reader's language
    here, so pygal, the cache key and the page all see plain strings."""
    title, unit = str(title), str(unit)
    x_labels = [str(label) for label in x_labels]
    series = [
        Series(str(each.name), [replace(p, label=str(p.label)) for p in each.points])
        for each in series
    ]
    if not description:
        description = _("Line chart of %(series)s.") % {"series": ", ".join(s.name for s in series)}
    chart = pygal.Line(
        **_config(
            title,
            range=y_range,
            x_labels_major_count=min(len(x_labels), 13),
            show_minor_x_labels=len(x_labels) <= 13,
            dots_size=3,
            stroke_style={"width": 2.5},
            y_title=unit,
            allow_interruptions=True,
        )
    )
    chart.x_labels = x_labels
    for each in series:
        chart.add(each.name, _values(each))
    data = Chart(title=title, x_labels=x_labels, series=series, unit=unit)
    return _render(chart, data, str(description))


def svg_nonced(svg: str, nonce: str) -> SafeString:
    """The chart's SVG with the page's CSP nonce on its <style> elements (pygal's
    colours and fonts), so the policy lets them apply."""
    return mark_safe(svg.replace(_STYLE_TAG, f'{_STYLE_TAG} nonce="{html.escape(nonce)}"'))  # noqa: S308
