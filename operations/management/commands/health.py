"""`manage.py health`: every health check, one line each; exits 1 when one fails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from operations.services import health_checks


class Command(BaseCommand):
    help = "Check that every part of Kundpuls does its work; exit 1 when one does not."

    def handle(self, *args: Any, **options: Any) -> None:
        checks = health_checks()
        for check in checks:
            mark = "ok     " if check.ok else "PROBLEM"
            self.stdout.write(f"{mark} {check.name}: {check.summary}")
            for line in check.details:
                self.stdout.write(f"        {line}")
        if not all(check.ok for check in checks):
            raise SystemExit(1)
