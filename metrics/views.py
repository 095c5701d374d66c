"""Pages: the reports and exports (staff only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from followups.views import agent_login_required, forbidden
from surveys import answering
from surveys.models import Response, Team, by_question_order
from surveys.reasons import reason_labels

from . import exports, scores, tables
from .compare import compare_build
from .dashboard import comments_with_term, dashboard_build
from .followup_report import recovery_figures, recovery_report
from .forms import (
    BusinessFiguresForm,
    CommentFilterForm,
    CompareForm,
    ReportFilterForm,
    ResponseFilterForm,
)
from .models import BusinessFigures, DigestSubscription
from .monthly import business_rows, monthly_build, monthly_span
from .people import PEOPLE, SORTS, sort_of
from .responses import responses_matching
from .selectors import MIN_ANSWERS, ReportFilters
from .services import business_figures_save


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous: to the login page. Logged in but not staff (an agent): 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
def followup_report(request: HttpRequest) -> HttpResponse:
    """Recovery per agent and team over the last `days` days (default 90), or over
    the dashboard's dates (`from`, `to`) when it links here."""
    context: dict[str, Any] = {"nav": "recovery"}
    if "from" in request.GET or "to" in request.GET:
        form, filters = _filters(request)
        start, end = filters.bounds()
        context.update(filters=filters, form_errors=form.errors)
    else:
        days = int(request.GET["days"]) if request.GET.get("days", "").isdigit() else 90
        end = timezone.now()
        start = end - timedelta(days=max(days, 1))
        context["days"] = days
    context["report"] = recovery_report(start=start, end=end)
    return render(request, "metrics/followup_report.html", context)


# --- Reports ------------------------------------------------------------------------------


def _query(filters: ReportFilters) -> str:
    return urlencode(filters.params())


def _filters(
    request: HttpRequest, form_class: type[ReportFilterForm] = ReportFilterForm
) -> tuple[ReportFilterForm, ReportFilters]:
    form = form_class(request.GET)
    return form, form.filters()


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    comments = CommentFilterForm(request.GET)
    comment_filter = comments.cleaned_data["comments"] if comments.is_valid() else ""
    people = request.GET.get("people", "agent")
    people = people if people in PEOPLE else "agent"
    sort, descending = sort_of(request.GET)
    context = dashboard_build(
        filters=filters,
        comment_filter=comment_filter,
        people=people,
        sort=sort,
        descending=descending,
    )
    context["followup_figures"] = recovery_figures(filters=filters)
    context["followup_report_query"] = urlencode(
        {"from": filters.start.isoformat(), "to": filters.end.isoformat()}
    )
    filter_keep = [(k, v) for k, v in filters.params().items()]
    context.update(
        form=form,
        comment_form=comments,
        query=_query(filters),
        comment_keep=[("comments", comment_filter)] if comment_filter else [],
        people_query=_people_query(filters, comment_filter),
        sort_columns=SORTS,
        filter_keep=filter_keep,
        min_answers=MIN_ANSWERS,
        held=_held_for_review(),
        nav="reports",
    )
    return render(request, "metrics/dashboard.html", context)


def _people_query(filters: ReportFilters, comment_filter: str) -> str:
    """The dashboard's query without the people table's own choices (agents or teams,
    the sort): its links add theirs."""
    params = dict(filters.params())
    if comment_filter:
        params["comments"] = comment_filter
    return urlencode(params)


# Surveys with answers held for review listed on the dashboard; the rest are in the admin.
HELD_LISTED = 10


def _held_for_review() -> dict[str, Any]:
    """How many answers are held, and the latest surveys with held answers (each with
    its held answers in question order)."""
    held = Response.objects.filter(held=True).select_related(
        "invitation__survey__ticket", "invitation__survey__customer"
    )
    surveys: dict[int, list[Response]] = {}
    for answer in held.order_by("-answered_at", "-pk")[: HELD_LISTED * 3]:
        surveys.setdefault(answer.invitation.survey_id, []).append(answer)
    return {
        "count": held.count(),
        "surveys": [by_question_order(answers) for answers in list(surveys.values())[:HELD_LISTED]],
    }


@staff_required
@require_POST
def held_review(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Approve (they count from now on) or discard (they were automated) the held
    answers of one survey, in one click from the dashboard."""
    ids = list(
        Response.objects.filter(held=True, invitation__survey_id=pk).values_list("pk", flat=True)
    )
    if action == "approve":
        done = answering.responses_release(response_ids=ids)
        text = _("Approved: the answers count in the scores now.")
    else:
        done = answering.responses_discard(response_ids=ids)
        text = _("Discarded: the answers are deleted and their case says so.")
    if done:
        messages.success(request, text)
    else:
        messages.info(request, _("Those answers were already reviewed."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("metrics:dashboard")
    return redirect(back)


@staff_required
def monthly(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    context = monthly_build(filters=monthly_span(filters))
    context.update(form=form, query=_query(filters), nav="monthly")
    return render(request, "metrics/monthly.html", context)


@staff_required
def compare(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    today = timezone.localdate()
    change_form = CompareForm(
        request.GET if "change" in request.GET else None,
        initial={"change": today - timedelta(days=45), "days": 45},
    )
    context: dict[str, Any] = {"form": form, "change_form": change_form, "nav": "compare"}
    if change_form.is_valid():
        change: date = change_form.cleaned_data["change"]
        days: int = change_form.cleaned_data["days"]
        before = filters.narrowed(
            start=change - timedelta(days=days), end=change - timedelta(days=1)
        )
        after = filters.narrowed(start=change, end=min(change + timedelta(days=days - 1), today))
        context.update(compare_build(before=before, after=after))
    return render(request, "metrics/compare.html", context)


@staff_required
def business(request: HttpRequest) -> HttpResponse:
    month = request.GET.get("month", "")
    instance = None
    if month:
        instance = BusinessFigures.objects.filter(month__startswith=month[:7]).first()
    form = BusinessFiguresForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        business_figures_save(values=form.cleaned_data, user=request.user)
        return redirect("metrics:business")
    context = {
        "form": form,
        "editing": instance,
        "rows": business_rows(BusinessFigures.objects.all()),
        "nav": "business",
    }
    return render(request, "metrics/business.html", context)


@staff_required
def exports_page(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    context = {
        "form": form,
        "filters": filters,
        "tables": tables.TABLES,
        "query": _query(filters),
        "nav": "exports",
    }
    return render(request, "metrics/exports.html", context)


def _responses(request: HttpRequest) -> tuple[ResponseFilterForm, Any]:
    form = ResponseFilterForm(request.GET)
    filters = form.filters()
    data = form.cleaned_data if form.is_valid() else {}
    # Staff see every answer; a lead the team's, an agent their own (else 404).
    # The form validated against every choice; only then are they narrowed for display.
    if request.user.is_staff:
        scope = Q()
    else:
        led = scores.led_teams(request.user)
        scope = scores.responses_scope_q(
            user=request.user, led=led, agent=filters.agent, team=filters.team
        )
        scores.filter_choices_narrow(form=form, user=request.user, led=led)
    if data.get("ticket") and "from" not in request.GET:
        filters = None  # a ticket's answers, whenever they were given
    responses = responses_matching(
        filters=filters,
        kind=data.get("kind") or None,
        score_class=data.get("score_class") or None,
        min_score=data.get("min_score"),
        max_score=data.get("max_score"),
        commented=bool(data.get("commented")),
        ticket=data.get("ticket") or None,
        by_sent_day=data.get("basis") == "sent",
        reason=data.get("reason"),
    ).filter(scope)
    if data.get("term"):
        # The answers behind a complaint term: their comments contain it, as stemmed.
        responses = responses.filter(pk__in=comments_with_term(form.filters(), data["term"]))
    return form, responses


@agent_login_required
def responses(request: HttpRequest) -> HttpResponse:
    form, rows = _responses(request)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "reasons": reason_labels((r.pk for r in page), language=translation.get_language()),
        "query": query.urlencode(),
        "nav": "responses",
    }
    return render(request, "metrics/responses.html", context)


@agent_login_required
def responses_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _form, rows = _responses(request)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        lines = exports.csv_lines(exports.RESPONSE_HEADER, exports.response_rows(rows))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="responses-{stamp}.csv"'
        return response
    workbook = exports.xlsx_file(
        [("Responses", exports.RESPONSE_HEADER, exports.response_rows(rows))]
    )
    return FileResponse(workbook, as_attachment=True, filename=f"responses-{stamp}.xlsx")


@staff_required
def table_export(request: HttpRequest, table: str, fmt: str) -> HttpResponse:
    if table not in tables.TABLES:
        raise Http404("no such table")
    _form, filters = _filters(request)
    header, rows = tables.TABLES[table].build(filters)
    name = f"{table}-{filters.start.isoformat()}-{filters.end.isoformat()}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.csv_lines(header, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    workbook = exports.xlsx_file([(tables.TABLES[table].sheet, header, rows)])
    return FileResponse(workbook, as_attachment=True, filename=f"{name}.xlsx")


class DigestForm(forms.Form):
    frequency = forms.ChoiceField(
        label=gettext_lazy("Report by email"),
        required=False,
        choices=[("", gettext_lazy("None")), *DigestSubscription.Frequency.choices],
    )


@agent_login_required
def digest_settings(request: HttpRequest) -> HttpResponse:
    """A team lead or admin subscribes to the report by email (or stops it)."""
    user = request.user
    if not (user.is_staff or Team.objects.filter(lead=user).exists()):
        return forbidden(request)
    current = DigestSubscription.objects.filter(user=user).first()
    form = DigestForm(
        request.POST or None, initial={"frequency": current.frequency if current else ""}
    )
    if request.method == "POST" and form.is_valid():
        frequency = form.cleaned_data["frequency"]
        if frequency:
            DigestSubscription.objects.update_or_create(
                user=user, defaults={"frequency": frequency}
            )
            messages.success(
                request, _("Saved: the report comes by email to %(email)s.") % {"email": user.email}
            )
        else:
            DigestSubscription.objects.filter(user=user).delete()
            messages.success(request, _("Saved: no report by email."))
        return redirect("metrics:digest")
    return render(request, "metrics/digest.html", {"form": form, "nav": "account"})
