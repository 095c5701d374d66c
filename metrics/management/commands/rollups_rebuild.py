from django.core.management.base import BaseCommand

from metrics.services import rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild every metric rollup from the raw rows (what the nightly job does)."

    def handle(self, *args: object, **options: object) -> None:
        scores, invitations = rollups_rebuild()
        self.stdout.write(f"rebuilt {scores} score rows and {invitations} invitation rows")
