from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from surveys.api_auth import api_key_create


class Command(BaseCommand):
    help = "Create an API key for the ticket API; prints the key as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the key, e.g. 'zendesk'.")
        parser.add_argument(
            "--admin",
            action="store_true",
            help="The key may also erase and export a customer's personal data.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        api_key, key = api_key_create(name=options["name"], admin=options["admin"])
        self.stderr.write(f"Created API key {api_key} (shown once; store it now):")
        self.stdout.write(key)
