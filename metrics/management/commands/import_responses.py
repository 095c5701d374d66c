import csv
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.imports import DEFAULT_SOURCE, responses_import


class Command(BaseCommand):
    help = (
        "Import past survey answers from a CSV file (e.g. Zendesk or Nicereply history). "
        "Columns: ticket external id, kind (csat/ces/nps), score, comment, answered at "
        "(ISO 8601), agent email, team, channel, category; optional: source (default "
        "'import'), scale, customer email, customer locale. No email is sent and no "
        "follow-up is opened. Safe to run again: answers imported before are skipped. "
        "Bad lines are reported by line number and the others imported; exits 1 if any "
        "line was bad."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8; , ; or tab separated).")
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help=f"Source for lines without a source column (default '{DEFAULT_SOURCE}').",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(8192)
            handle.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            reader = csv.DictReader(handle, dialect=dialect)
            if not reader.fieldnames:
                raise CommandError(f"{path}: empty file, expected a header line")
            # Line numbers as an editor shows them: the header is line 1.
            rows = ((reader.line_num, row) for row in reader)
            result = responses_import(rows=rows, default_source=options["source"])
        for number, message in result.errors:
            self.stderr.write(f"{path}:{number}: {message}")
        self.stdout.write(
            f"{result.imported} imported, {result.skipped} already there, "
            f"{len(result.errors)} with errors"
        )
        if result.errors:
            sys.exit(1)
