"""Reasons after a low score: the defaults, which scores they follow, and the reasons
answers carry (for the case page, exports, the API and the helpdesk write-back)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import scoring
from .models import Invitation, Reason, ResponseReason

# The reasons every kind starts with (migration 0017 made them): their labels are
# msgids, so label_in finds them in every language's catalogue.
DEFAULT_REASONS = (
    ("slow", gettext_noop("Slow answer")),
    ("unsolved", gettext_noop("Problem not solved")),
    ("manner", gettext_noop("Agent's manner")),
    ("repeat", gettext_noop("Had to repeat myself")),
    ("product", gettext_noop("Product issue")),
    ("other", gettext_noop("Other")),
)


def low_raw_scores(invitation: Invitation) -> list[int]:
    """The scores, as the customer picks them, that are low for this question (the
    high end of an inverted CES question)."""
    low, high = scoring.score_range(kind=invitation.kind, scale_points=invitation.scale_points)
    return [raw for raw in range(low, high + 1) if raw_is_low(invitation, raw)]


def raw_is_low(invitation: Invitation, raw: int) -> bool:
    score = scoring.normalise(
        kind=invitation.kind,
        raw=raw,
        scale_points=invitation.scale_points,
        inverted=invitation.inverted,
    )
    return scoring.is_low(kind=invitation.kind, score=score, scale_points=invitation.scale_points)


def scores_in_words(scores: list[int]) -> str:
    """ "1", "1 or 2", "0 to 6": a run of scores as a sentence names it."""
    if len(scores) == 1:
        return str(scores[0])
    if len(scores) == 2:
        return _("%(low)s or %(high)s") % {"low": scores[0], "high": scores[1]}
    return _("%(low)s to %(high)s") % {"low": scores[0], "high": scores[-1]}


def reasons_by_response(response_ids: Iterable[int]) -> dict[int, list[Reason]]:
    """The reasons each of these answers carries, in the reasons' order: one query.
    An answer without reasons is missing from the result."""
    ids = list(response_ids)
    found: dict[int, list[Reason]] = defaultdict(list)
    if not ids:
        return found
    given = (
        ResponseReason.objects.filter(response_id__in=ids)
        .select_related("reason")
        .order_by("reason__kind", "reason__position", "reason_id")
    )
    for row in given:
        found[row.response_id].append(row.reason)
    return found


def reason_labels(response_ids: Iterable[int], *, language: str) -> dict[int, list[str]]:
    """Each answer's reasons as labels in a language (one query)."""
    return {
        response_id: [reason.label_in(language) for reason in reasons]
        for response_id, reasons in reasons_by_response(response_ids).items()
    }
