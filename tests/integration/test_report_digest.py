"""The report by email on the running system: beat's sweep (every second here) sends a
subscribed admin yesterday's report over the real SMTP server once, however many sweeps
follow, in the admin's language."""

from __future__ import annotations

import pytest

from followups.models import StaffSettings
from metrics.models import DigestSent, DigestSubscription
from tests.factories import UserFactory

from .conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_one_digest_per_period_over_smtp_in_the_readers_language(stack: Stack) -> None:
    admin = UserFactory(email="chef@support.example", is_staff=True)
    StaffSettings.objects.create(user=admin, language="da")
    DigestSubscription.objects.create(user=admin, frequency="daily")

    [mail] = stack.mailbox.wait_for("chef@support.example")
    stack.wait_between_sweeps()
    stack.wait_between_sweeps()

    assert mail.subject.startswith("Kundpuls dagsrapport: ")
    assert "Alle, " in mail.text
    assert len(stack.mailbox.to("chef@support.example")) == 1
    assert DigestSent.objects.filter(user=admin, sent_at__isnull=False).count() == 1
