from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.rebuild import REBUILD_LEASE, rollups_rebuild_alone
from surveys.copies import copies_repair
from surveys.leases import lease_holder


class Command(BaseCommand):
    help = (
        "Rebuild the metric rollups from the raw rows, comparing every bucket (the nightly "
        "job compares each day's sums first and recomputes only the days that differ)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--copies",
            action="store_true",
            help="First repair the copies the rollups are read from, where rollups_check "
            "found them out of step (reads every answer with its question and survey).",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["copies"]:
            answers, surveys = copies_repair()
            self.stdout.write(f"repaired the copies of {answers} answers and {surveys} surveys")
        rebuilt = rollups_rebuild_alone(exact=True)
        if rebuilt is None:
            raise CommandError(
                f"Another rebuild is running ({lease_holder(REBUILD_LEASE)}); "
                "try again when it has finished."
            )
        scores, funnel = rebuilt
        self.stdout.write(f"rebuilt {scores} score rows and {funnel} funnel rows")
