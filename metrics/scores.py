"""Agents' and team leads' own scores.

The same exact counts as the admin reports, held to what the role may see: an agent
the answers about their own tickets, a team lead the team's (with a row per agent).
Admins have the full reports instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.models import Agent, Team

from . import reports
from .responses import comments_latest
from .selectors import MIN_ANSWERS, ReportFilters

# The periods offered, in days; the first is the default.
PERIODS = (30, 90, 365)


@dataclass(frozen=True)
class Scope:
    """Whose scores a user may see: their own (agent) or a team's (team lead)."""

    agent: int | None = None
    team: Team | None = None
    # The teams the user leads, by name (read once per request).
    led: tuple[Team, ...] = ()

    def filters(self, *, days: int, today: date) -> ReportFilters:
        return ReportFilters(
            start=today - timedelta(days=days - 1),
            end=today,
            agent=self.agent,
            team=self.team.pk if self.team else None,
        )


def led_teams(user: Any) -> list[Team]:
    """The teams a user leads, by name."""
    return list(Team.objects.filter(lead=user).order_by("name"))


def scores_scope(*, user: Any, team_id: str | None = None) -> Scope:
    """A team lead sees a team they lead (the one asked for, else the first); anyone
    else their own answers. Asking for a team one does not lead is a 404."""
    led = tuple(led_teams(user))
    if team_id:
        chosen = next((team for team in led if str(team.pk) == team_id), None)
        if chosen is None:
            raise Http404("No such team of yours.")
        return Scope(team=chosen, led=led)
    return Scope(team=led[0], led=led) if led else Scope(agent=user.pk)


def scores_build(*, scope: Scope, days: int, today: date) -> dict[str, Any]:
    filters = scope.filters(days=days, today=today)
    counts = reports.PeriodCounts.read(filters, *(["agent"] if scope.team else []))
    context: dict[str, Any] = {
        "filters": filters,
        "previous": filters.previous(),
        "headlines": counts.headlines(),
        "trends": counts.trends(),
        "comments": comments_latest(filters=filters, limit=10),
    }
    if scope.team is not None:
        context["agents"] = counts.table("agent")
    return context


@login_required
def scores(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff:
        return redirect("metrics:dashboard")
    days = request.GET.get("days", "")
    days = int(days) if days.isdigit() and int(days) in PERIODS else PERIODS[0]
    scope = scores_scope(user=request.user, team_id=request.GET.get("team"))
    context = scores_build(scope=scope, days=days, today=timezone.localdate())
    context.update(
        scope=scope,
        days=days,
        periods=PERIODS,
        led_teams=scope.led,
        min_answers=MIN_ANSWERS,
        nav="scores",
    )
    return render(request, "metrics/scores.html", context)


def responses_scope_q(
    *, user: Any, led: list[Team], agent: int | None = None, team: int | None = None
) -> Q:
    """The answers a user who is not staff may open: a team lead those about the
    teams they lead (`led`), an agent those about their own tickets. Asking for
    another agent's or team's answers is a 404, as if they did not exist."""
    led_ids = {t.pk for t in led}
    if led_ids:
        if team is not None and team not in led_ids:
            raise Http404("No such team of yours.")
        return Q(invitation__survey__team_id__in=led_ids)
    if agent is not None and agent != user.pk:
        raise Http404("No such answers of yours.")
    return Q(invitation__survey__agent_id=user.pk)


def filter_choices_narrow(*, form: Any, user: Any, led: list[Team]) -> None:
    """Offer a user who is not staff only the teams and agents they may filter by: a
    lead the teams they lead (`led`, by name) and those teams' agents, an agent
    themselves."""
    if led:
        form.fields["team"].choices = [("", _("All my teams"))] + [(str(t.pk), t.name) for t in led]
        agents = Agent.objects.filter(team__in=led).select_related("user")
        form.fields["agent"].choices = [("", _("All"))] + [(str(a.user_id), str(a)) for a in agents]
    else:
        form.fields["team"].choices = [("", _("All"))]
        name = user.get_full_name() or user.get_username()
        form.fields["agent"].choices = [("", _("Me")), (str(user.pk), name)]
