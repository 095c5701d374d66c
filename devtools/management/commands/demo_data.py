"""`manage.py demo_data`: six months of realistic tickets, surveys, answers and follow-ups.

Deterministic for a seed (only the link tokens are random, and the dates are relative
to today). The surveys follow the same rules the running system applies (surveys.rules:
NPS at most every N days, at most one survey email per customer in the throttle window,
opted-out customers suppressed), so the reports, the follow-up list and the admin look
like a product that has been running for half a year. A few surveys of tickets solved
in the last hour are left scheduled, so the survey emails start going out within the
hour after the system starts.

The tickets have source "demo"; --force deletes those (and nothing else) before
generating again. The scales are the defaults (CSAT 1-5, CES 1-7, NPS 0-10) whatever the
survey policy says; the policy's other settings (NPS interval, throttle, answer window,
excluded tags, CES inverted or not) are applied. The generator is the devtools.demo
package; this command only makes room for it and prints what it made.
"""

from __future__ import annotations

import time as clock
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from devtools.demo.build import demo_build
from devtools.demo.run import DEMO_SOURCE
from surveys.models import Customer, Ticket


class Command(BaseCommand):
    help = (
        "Fill an empty database with about six months of realistic demo data ending today: "
        "two teams, six agents, customers in all six languages, tickets, surveys, "
        "answers with comments, follow-ups and rollups; a few surveys are left scheduled to "
        "go out within the hour. Refuses to run when the database has tickets, unless "
        "--force. Deterministic for a given --seed (dates are relative to today)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=2000, help="How many (default 2000).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument(
            "--force",
            action="store_true",
            help=(
                f"Delete the demo data of an earlier run (tickets with source '{DEMO_SOURCE}', "
                "their surveys, answers and follow-ups, and their customers) and generate it "
                "again. Never deletes anything else: with tickets from another source in the "
                "database the command refuses even with --force."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = clock.monotonic()
        if options["tickets"] < 30:
            raise CommandError("--tickets must be 30 or more.")
        with transaction.atomic():
            self._make_room(force=options["force"])
            counts = demo_build(seed=options["seed"], ticket_count=options["tickets"])
        self.stdout.write(
            f"Demo data: {counts.tickets} tickets, {counts.surveys} surveys "
            f"({counts.sent} sent, {counts.scheduled_surveys} surveys scheduled within the "
            f"hour), {counts.responses} responses, {counts.open_followups} follow-ups open "
            f"in {clock.monotonic() - started:.1f} s."
        )

    def _make_room(self, *, force: bool) -> None:
        other = Ticket.objects.exclude(source=DEMO_SOURCE).count()
        demo = Ticket.objects.filter(source=DEMO_SOURCE).count()
        if other:
            raise CommandError(
                f"The database already has {other} tickets that are not demo data; demo_data "
                "only fills an empty database and never mixes demo data with real tickets. "
                "Nothing was changed."
            )
        if demo and not force:
            raise CommandError(
                f"The database already has {demo} demo tickets. Run with --force to delete "
                "them (with their surveys, answers, follow-ups and customers) and generate "
                "the demo data again. Nothing was changed."
            )
        if demo:
            customer_ids = set(
                Ticket.objects.filter(source=DEMO_SOURCE).values_list("requester_id", flat=True)
            )
            Ticket.objects.filter(source=DEMO_SOURCE).delete()
            Customer.objects.filter(pk__in=customer_ids, tickets__isnull=True).delete()
