"""The steps of the response funnel, as conditions on a survey (one survey email).

Each step is one line. The rollups count every step per day sent and dimension, the
dashboard shows them in this order and the exports list them: to add a step, add its
line here; no migration is needed because InvitationRollup keeps one row per step.
Whatever sets the field a step reads must call metrics.rollups.rollups_refresh(
survey=...) afterwards (the core sends surveys.signals.survey_changed).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class FunnelStep:
    name: str
    label: str
    condition: Q


SENT = Q(sent_at__isnull=False)
# A survey email that bounced, or that the customer marked as spam (the provider tells),
# is out of the response rate's denominator.
DELIVERED = SENT & Q(bounced_at__isnull=True, complained_at__isnull=True)
# Answered: the survey has an answer that counts (the first question is required on
# the page, so that is its first question's). Answers held for review (they look
# automated) count nowhere until released. The survey keeps copies of its answers
# (answer_counted, answer_commented), so the funnel is counted from its table alone.
ANSWERED = DELIVERED & Q(answer_counted=True)

FUNNEL_STEPS: tuple[FunnelStep, ...] = (
    FunnelStep("sent", _("Sent"), SENT),
    FunnelStep("delivered", _("Delivered"), DELIVERED),
    # A person's click; fetches judged automated (scanners) count as filtered instead.
    FunnelStep("clicked", _("Clicked"), DELIVERED & Q(first_clicked_at__isnull=False)),
    FunnelStep("bot", _("Filtered as bot"), SENT & Q(bot_suspect_at__isnull=False)),
    FunnelStep("answered", _("Answered"), ANSWERED),
    # Of those: answered by the rating link's click alone (the page sent the clicked
    # score by itself), and completed (the customer sent the page's form).
    FunnelStep("by_click", _("Answered by the click alone"), ANSWERED & Q(completed_at=None)),
    FunnelStep("completed", _("Completed on the page"), ANSWERED & Q(completed_at__isnull=False)),
    FunnelStep("commented", _("Commented"), DELIVERED & Q(answer_commented=True)),
)

STEP_NAMES = tuple(step.name for step in FUNNEL_STEPS)
