import sys

from django.core.management.base import BaseCommand

from metrics.check import rollups_differences


class Command(BaseCommand):
    help = (
        "Compare the metric rollups with the raw rows, and the copies they are computed "
        "from with the rows copied; exit 1 if any differ."
    )

    def handle(self, *args: object, **options: object) -> None:
        differences = rollups_differences()
        for line in differences:
            self.stdout.write(line)
        if not differences:
            self.stdout.write("0 differences")
            return
        self.stdout.write(f"{len(differences)} differences")
        repair = "--copies " if any(line.startswith("copies:") for line in differences) else ""
        self.stdout.write(f"To repair them: manage.py rollups_rebuild {repair}".rstrip())
        sys.exit(1)
