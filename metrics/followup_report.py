"""The follow-up report: per agent (case owner) and team, cases opened, the share
first contacted by the due time, the median time to first contact and the recovery
rate ("Did we sort it out?" answered yes, of those answered)."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from followups.models import FollowUp, FollowUpEvent

from . import formulas
from .selectors import ReportFilters


def recovery_row(name: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Cases opened, % first contacted by the due time, median time to first contact,
    and the recovery rate: customers who answered "Did we sort it out?" with yes, of
    those who answered (their latest answer; an outcome set by hand does not count).
    Pure: takes FollowUp values with their "recovery_answer"."""
    contacted = [c for c in cases if c["first_contacted_at"] is not None]
    in_time = [
        c for c in contacted if c["due_at"] is None or c["first_contacted_at"] <= c["due_at"]
    ]
    waits = [(c["first_contacted_at"] - c["created_at"]).total_seconds() for c in contacted]
    answered = [c for c in cases if c["recovery_answer"]]
    recovered = [c for c in answered if c["recovery_answer"] == FollowUp.Outcome.RECOVERED]
    return {
        "name": name,
        "opened": len(cases),
        "in_time_count": len(in_time),
        "in_time": formulas.percent(len(in_time), len(cases)),
        "median_wait": timedelta(seconds=median(waits)) if waits else None,
        "answered": len(answered),
        "recovered": len(recovered),
        "recovery_rate": formulas.percent(len(recovered), len(answered)),
    }


def recovery_cases(*, start: datetime, end: datetime, **dimensions: Any) -> list[dict[str, Any]]:
    """The values recovery_row needs, of the cases opened from start up to (not
    including) end; dimensions filter FollowUp (e.g. survey__team_id=3)."""
    latest_answer = FollowUpEvent.objects.filter(
        followup=OuterRef("pk"), kind=FollowUpEvent.Kind.RECOVERY_ANSWER
    ).order_by("-at", "-pk")
    return list(
        FollowUp.objects.filter(created_at__gte=start, created_at__lt=end, **dimensions)
        .annotate(recovery_answer=Subquery(latest_answer.values("new")[:1]))
        .values(
            "created_at",
            "due_at",
            "first_contacted_at",
            "recovery_answer",
            "owner__email",
            "owner__first_name",
            "owner__last_name",
            "survey__team__name",
        )
    )


def recovery_figures(*, filters: ReportFilters) -> dict[str, Any]:
    """recovery_row of every case opened in the filters' days, for the dashboard:
    narrowed like its other figures (the ticket's team, agent, channel and category)."""
    start, end = filters.bounds()
    cases = recovery_cases(start=start, end=end, **filters.lookups("survey__"))
    return recovery_row(_("All"), cases)


def recovery_report(*, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    """The recovery figures per agent (case owner) and per team, for cases opened
    from start up to (not including) end."""
    cases = recovery_cases(start=start, end=end)
    report: dict[str, list[dict[str, Any]]] = {}
    for label, name_of in (("agents", _owner_name), ("teams", _team_name)):
        groups: dict[str, list[dict[str, Any]]] = {}
        for case in cases:
            groups.setdefault(name_of(case), []).append(case)
        report[label] = [
            recovery_row(name, rows) for name, rows in sorted(groups.items(), key=_by_name)
        ]
    report["total"] = [recovery_row(_("All"), cases)]
    return report


def _owner_name(case: dict[str, Any]) -> str:
    name = f"{case['owner__first_name']} {case['owner__last_name']}".strip()
    return name or case["owner__email"] or _("(no owner)")


def _team_name(case: dict[str, Any]) -> str:
    return case["survey__team__name"] or _("(no team)")


def _by_name(item: tuple[str, Any]) -> str:
    return item[0].lower()
