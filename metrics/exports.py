"""CSV and XLSX exports of the responses and of every report table.

A cell whose text starts with = + - @ tab or carriage return would run as a formula
in a spreadsheet (CSV injection); such text gets a leading apostrophe. Numbers stay
numbers.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter
from django.db.models import QuerySet
from django.utils import timezone

from surveys.models import Response
from surveys.reasons import reasons_by_response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows read (and their reasons looked up) at a time.
CHUNK_ROWS = 2000

RESPONSE_HEADER = (
    "response_id",
    "ticket_source",
    "ticket",
    "customer_locale",
    "agent",
    "team",
    "channel",
    "category",
    "kind",
    "raw_score",
    "score",
    "scale_points",
    "comment",
    "reasons",
    "sent_at",
    "answered_at",
    "updated_at",
    "embedded",
)
_RESPONSE_FIELDS = (
    "pk",
    "invitation__survey__ticket__source",
    "invitation__survey__ticket__external_id",
    "invitation__survey__customer__locale",
    "invitation__survey__agent__email",
    "invitation__survey__team__name",
    "invitation__survey__channel",
    "invitation__survey__category",
    "invitation__kind",
    "raw_score",
    "score",
    "invitation__scale_points",
    "comment",
    "invitation__survey__sent_at",
    "answered_at",
    "updated_at",
    "invitation__survey__embedded",
)


def neutralise(value: Any) -> Any:
    """A cell value that a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def response_rows(responses: QuerySet[Response]) -> Iterator[tuple[Any, ...]]:
    """One row per response, read in chunks so a million rows fit in memory. Its
    reasons are their English labels joined by "; " (one query a chunk)."""
    rows = responses.order_by("answered_at", "pk").values_list(*_RESPONSE_FIELDS)
    chunk: list[tuple[Any, ...]] = []
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield from _with_reasons(chunk)
            chunk = []
    yield from _with_reasons(chunk)


_REASONS_AFTER = _RESPONSE_FIELDS.index("comment") + 1


def _with_reasons(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    given = reasons_by_response(row[0] for row in rows)
    for row in rows:
        reasons = "; ".join(reason.label for reason in given.get(row[0], []))
        yield (*row[:_REASONS_AFTER], reasons, *row[_REASONS_AFTER:])


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text line by line, for a streaming response (UTF-8 with a BOM for Excel)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([neutralise(h) for h in header])
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])


def xlsx_file(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> IO[bytes]:
    """An XLSX workbook in a temporary file, one sheet per (name, header, rows).

    Strings are written as strings (never turned into formulas, URLs or numbers).
    """
    out = tempfile.TemporaryFile()  # noqa: SIM115 -- handed to FileResponse, which closes it
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True})
    for name, header, rows in sheets:
        sheet = workbook.add_worksheet(str(name)[:31])
        sheet.write_row(0, 0, [neutralise(h) for h in header], bold)
        for index, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                value = neutralise(value)
                if isinstance(value, str):
                    sheet.write_string(index, column, value)
                elif isinstance(value, bool) or value == "":
                    sheet.write(index, column, value)
                else:
                    sheet.write_number(index, column, float(value))
        sheet.freeze_panes(1, 0)
    workbook.close()
    out.seek(0)
    return out
