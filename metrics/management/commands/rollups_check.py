import sys

from django.core.management.base import BaseCommand

from metrics.services import rollups_differences


class Command(BaseCommand):
    help = "Compare the metric rollups with the raw rows; exit 1 if any differ."

    def handle(self, *args: object, **options: object) -> None:
        differences = rollups_differences()
        for line in differences:
            self.stdout.write(line)
        if differences:
            self.stdout.write(f"{len(differences)} differences")
            sys.exit(1)
        self.stdout.write("0 differences")
