"""Import ticket events from a JSON-lines or CSV file (history, bulk)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.api import TicketEventSerializer
from surveys.services import ticket_ingest

# CSV columns for the nested fields of the JSON event.
NESTED = {
    "requester_email": ("requester", "email"),
    "requester_name": ("requester", "name"),
    "requester_locale": ("requester", "locale"),
    "assignee_email": ("assignee", "email"),
    "assignee_name": ("assignee", "name"),
}


def csv_event(row: dict[str, str]) -> dict[str, Any]:
    """Turn a flat CSV row into the JSON event the API takes."""
    event: dict[str, Any] = {}
    for column, value in row.items():
        value = (value or "").strip()
        if column in NESTED:
            parent, key = NESTED[column]
            if value:
                event.setdefault(parent, {})[key] = value
        elif column == "tags":
            event["tags"] = [t.strip() for t in value.replace(";", ",").split(",") if t.strip()]
        elif value != "":
            event[column] = value
    return event


def events(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """Yield (line number, event or None, parse error) for each record."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        if path.suffix.lower() == ".csv":
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield number, csv_event(row), ""
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), ""
            except json.JSONDecodeError as exc:
                yield number, None, f"not JSON: {exc.msg}"


class Command(BaseCommand):
    help = (
        "Import ticket events from a .jsonl file (one API event per line) or a .csv file "
        "(the same fields; requester_email, requester_name, requester_locale, assignee_email, "
        "assignee_name columns; tags separated by commas). Safe to run again. Tickets solved "
        "more than 7 days ago are stored without sending surveys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        created = updated = failed = 0
        for number, event, error in events(path):
            if event is not None:
                serializer = TicketEventSerializer(data=event)
                if serializer.is_valid():
                    result = ticket_ingest(event=serializer.validated_data)
                    created += result.created
                    updated += not result.created
                    continue
                error = json.dumps(serializer.errors)
            failed += 1
            self.stderr.write(f"{path}:{number}: {error}")
        self.stdout.write(f"{created} created, {updated} updated, {failed} failed")
        if failed:
            raise CommandError(f"{failed} records were not imported; see the lines above")
