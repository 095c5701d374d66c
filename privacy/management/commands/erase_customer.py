from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from privacy.erasure import customer_erase_audited
from surveys.addresses import validate_address


class Command(BaseCommand):
    help = (
        "Erase a customer's personal data (address, name, comments, clicks, case notes, "
        "messages) everywhere Kundpuls keeps it; their scores stay in the reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The customer's email address.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        try:
            validate_address(email)
        except ValidationError as exc:
            raise CommandError(f"Not an email address: {exc.messages[0]}") from exc
        erasure = customer_erase_audited(
            email=email, actor="manage.py erase_customer", via="command"
        )
        if not erasure.customer_ids:
            self.stdout.write("No customer has this address; its traces were erased, if any.")
        else:
            self.stdout.write(f"Erased customer {erasure.customer_ids[0]}.")
        for kind, count in sorted(erasure.counts.items()):
            self.stdout.write(f"  {kind}: {count}")
