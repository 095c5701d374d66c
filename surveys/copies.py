"""The copies that let each metric rollup read one table, checked and repaired.

An answer carries its invitation's dimensions (Response.INVITATION_COPIES), and an
invitation whether its answer counts and has a comment (Invitation.answer_counted,
answer_commented). They are written with the rows they copy (Response.save(),
InvitationQuerySet.answers_copy()), so they never lag; these functions compare them
with those rows (rollups_check) and put them right (rollups_rebuild --copies).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import Invitation, Response, answer_copies

# No id is negative: a missing agent or team compares as -1 on both sides.
_NULLABLE = {"agent_id", "team_id"}


def responses_copies_stale() -> QuerySet[Response]:
    """Answers whose copied dimensions differ from their invitation's."""
    pairs = {}
    for name in Response.INVITATION_COPIES:
        if name in _NULLABLE:
            pairs[f"own_{name}"] = Coalesce(name, -1)
            pairs[f"their_{name}"] = Coalesce(f"invitation__{name}", -1)
        else:
            pairs[f"own_{name}"] = F(name)
            pairs[f"their_{name}"] = F(f"invitation__{name}")
    differs = Q()
    for name in Response.INVITATION_COPIES:
        differs |= ~Q(**{f"own_{name}": F(f"their_{name}")})
    return Response.objects.annotate(**pairs).filter(differs)


def invitations_copies_stale() -> QuerySet[Invitation]:
    """Invitations whose copies of their answer differ from the answer."""
    fresh = answer_copies()
    differs = Q()
    for name in fresh:
        differs |= ~Q(**{name: F(f"fresh_{name}")})
    return Invitation.objects.annotate(
        **{f"fresh_{name}": value for name, value in fresh.items()}
    ).filter(differs)


def copies_repair() -> tuple[int, int]:
    """Copy again what differs. Safe to re-run; returns the answers and the
    invitations repaired. The rollups of the rows repaired need a rebuild after."""
    with transaction.atomic():
        invitation = Invitation.objects.filter(pk=OuterRef("invitation_id"))
        answers = Response.objects.filter(pk__in=responses_copies_stale().values("pk")).update(
            **{name: Subquery(invitation.values(name)[:1]) for name in Response.INVITATION_COPIES}
        )
        stale = Invitation.objects.filter(pk__in=invitations_copies_stale().values("pk"))
        invitations = stale.answers_copy()
    return answers, invitations
