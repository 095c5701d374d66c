"""The copies that let each metric rollup read one table, checked and repaired.

An answer carries its question's kind and scale and its survey's dimensions
(Response.INVITATION_COPIES, SURVEY_COPIES), and a survey whether it has an answer
that counts and one with a comment (Survey.answer_counted, answer_commented). They
are written with the rows they copy (Response.save(), SurveyQuerySet.answers_copy()),
so they never lag; these functions compare them
with those rows (rollups_check) and put them right (rollups_rebuild --copies).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import Invitation, Response, Survey, answer_copies

# No id is negative: a missing agent or team compares as -1 on both sides.
_NULLABLE = {"agent_id", "team_id"}


def _sources() -> dict[str, str]:
    """Each copied field of an answer, and the path of the field it copies."""
    return {
        **{name: f"invitation__{name}" for name in Response.INVITATION_COPIES},
        **{name: f"invitation__survey__{name}" for name in Response.SURVEY_COPIES},
    }


def responses_copies_stale() -> QuerySet[Response]:
    """Answers whose copied dimensions differ from their question's and survey's."""
    pairs = {}
    for name, source in _sources().items():
        if name in _NULLABLE:
            pairs[f"own_{name}"] = Coalesce(name, -1)
            pairs[f"their_{name}"] = Coalesce(source, -1)
        else:
            pairs[f"own_{name}"] = F(name)
            pairs[f"their_{name}"] = F(source)
    differs = Q()
    for name in _sources():
        differs |= ~Q(**{f"own_{name}": F(f"their_{name}")})
    return Response.objects.annotate(**pairs).filter(differs)


def surveys_copies_stale() -> QuerySet[Survey]:
    """Surveys whose copies of their answers differ from the answers."""
    fresh = answer_copies()
    differs = Q()
    for name in fresh:
        differs |= ~Q(**{name: F(f"fresh_{name}")})
    return Survey.objects.annotate(
        **{f"fresh_{name}": value for name, value in fresh.items()}
    ).filter(differs)


def copies_repair() -> tuple[int, int]:
    """Copy again what differs. Safe to re-run; returns the answers and the surveys
    repaired. The rollups of the rows repaired need a rebuild after."""
    with transaction.atomic():
        invitation = Invitation.objects.filter(pk=OuterRef("invitation_id"))
        answers = Response.objects.filter(pk__in=responses_copies_stale().values("pk")).update(
            **{
                name: Subquery(invitation.values(source.removeprefix("invitation__"))[:1])
                for name, source in _sources().items()
            }
        )
        stale = Survey.objects.filter(pk__in=surveys_copies_stale().values("pk"))
        surveys = stale.answers_copy()
    return answers, surveys
