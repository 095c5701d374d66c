"""Pages: the follow-up inbox and cases (agents), the customers' "Did we sort it out?"
page (public, by link token), and the reports and exports (staff only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from surveys import rules
from surveys import views as customer_pages
from surveys.emails import brand_context
from surveys.models import SurveyPolicy

from . import exports, followups, reports, scores, tables
from . import recovery as recovery_survey
from .forms import (
    BusinessFiguresForm,
    CommentFilterForm,
    CompareForm,
    CustomerReplyForm,
    FollowUpNoteForm,
    FollowUpReassignForm,
    FollowUpStatusForm,
    RecoveryForm,
    ReportFilterForm,
    ResponseFilterForm,
)
from .models import BusinessFigures, FollowUp
from .responses import responses_matching
from .selectors import MIN_ANSWERS, ReportFilters
from .services import business_figures_save

# Agents are not staff, so the admin's login page would turn them away.
agent_login_required = login_required(login_url="metrics:login")


def _followup_for(request: HttpRequest, pk: int) -> FollowUp:
    """The case if this user may see it; 404 otherwise (its existence stays hidden)."""
    return get_object_or_404(
        followups.followups_visible(user=request.user).select_related("invitation__team"), pk=pk
    )


@agent_login_required
def inbox(request: HttpRequest) -> HttpResponse:
    scope = "all" if request.GET.get("scope") == "all" else "mine"
    rows = followups.followups_inbox(user=request.user, scope=scope)
    context = {
        "followups": rows,
        "scope": scope,
        "sees_others": followups.followups_sees_others(user=request.user),
        "now": timezone.now(),
        "nav": "followups",
    }
    return render(request, "metrics/inbox.html", context)


@agent_login_required
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    form = FollowUpStatusForm(request.POST or None, instance=followup)
    if request.method == "POST" and form.is_valid():
        followups.followup_status_set(
            followup=followup,
            status=form.cleaned_data["status"],
            outcome=form.cleaned_data.get("outcome") or None,
            actor=request.user,
            now=timezone.now(),
        )
        messages.success(request, "Saved.")
        return redirect(followup)
    return _detail(request, followup, status_form=form)


def _detail(request: HttpRequest, followup: FollowUp, **forms: Any) -> HttpResponse:
    can_reassign = followups.followup_can_reassign(user=request.user, followup=followup)
    owners = followups.followup_owner_choices(user=request.user, followup=followup)
    context: dict[str, Any] = {
        "followup": followup,
        "status_form": FollowUpStatusForm(instance=followup),
        "note_form": FollowUpNoteForm(),
        "reassign_form": FollowUpReassignForm(owners=owners) if can_reassign else None,
        "invitations": followup.invitation.ticket.invitations.select_related("response"),
        "events": followup.events.select_related("actor"),
        "nav": "followups",
        **followups.customer_history(followup=followup),
        **forms,
    }
    return render(request, "metrics/followup_detail.html", context)


@agent_login_required
@require_POST
def followup_note(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    form = FollowUpNoteForm(request.POST)
    if not form.is_valid():
        return _detail(request, followup, note_form=form)
    followups.followup_note_add(
        followup=followup, actor=request.user, text=form.cleaned_data["text"], now=timezone.now()
    )
    messages.success(request, "Note added.")
    return redirect(followup)


@agent_login_required
def followup_email(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    form = CustomerReplyForm(
        request.POST or None, initial=followups.customer_reply_draft(followup=followup)
    )
    if request.method == "POST" and form.is_valid():
        followups.customer_reply_send(
            followup=followup, actor=request.user, now=timezone.now(), **form.cleaned_data
        )
        messages.success(request, f"Email sent to {followup.invitation.customer.email}.")
        return redirect(followup)
    context = {"followup": followup, "form": form, "nav": "followups"}
    return render(request, "metrics/followup_email.html", context)


@agent_login_required
@require_POST
def followup_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    if not followups.followup_can_reassign(user=request.user, followup=followup):
        raise PermissionDenied("Only team leads and admins reassign cases.")
    owners = followups.followup_owner_choices(user=request.user, followup=followup)
    form = FollowUpReassignForm(request.POST, owners=owners)
    if not form.is_valid():
        return _detail(request, followup, reassign_form=form)
    followups.followup_reassign(
        followup=followup, owner=form.cleaned_data["owner"], actor=request.user, now=timezone.now()
    )
    messages.success(request, "Reassigned.")
    return redirect(followup)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous: to the login page. Logged in but not staff (an agent): 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Reports are for staff.")
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
    context["report"] = recovery_survey.recovery_report(start=start, end=end)
    return render(request, "metrics/followup_report.html", context)


# --- "Did we sort it out?" (customers, by link token) ------------------------------------

# The customer's latest answer as the page's choice.
ANSWERS = {FollowUp.Outcome.RECOVERED: "yes", FollowUp.Outcome.NOT_RECOVERED: "no"}
ANSWERS_SET = tuple(ANSWERS.values())


def _recovery_or_404(request: HttpRequest, token: str) -> tuple[FollowUp, str]:
    """The case of a recovery link and the language to show it in (the one chosen with
    the switch, else the customer's); an unknown or altered token is a 404."""
    followup = recovery_survey.followup_for_recovery_token(token=token)
    if followup is None:
        raise Http404("unknown recovery link")
    chosen = customer_pages._chosen_language(request)
    return followup, chosen or recovery_survey.recovery_language(followup)


def _recovery_context(request: HttpRequest, followup: FollowUp, token: str) -> dict[str, Any]:
    chosen = customer_pages._chosen_language(request)
    keep = {k: v for k, v in request.GET.items() if k == "answer" and v in ANSWERS_SET}
    current = translation.get_language()
    return {
        **brand_context(SurveyPolicy.load()),
        "subject": followup.invitation.ticket.subject or str(followup.invitation.ticket),
        "answered": followup.recovery_answered_at is not None,
        "action_url": customer_pages._with_lang(reverse("metrics:recovery", args=[token]), chosen),
        "change_url": customer_pages._with_lang(
            reverse("metrics:recovery", args=[token]), chosen or current
        ),
        "language_links": [
            {
                "code": code,
                "name": customer_pages.LANGUAGE_NAMES[code],
                "url": f"{request.path}?{urlencode({**keep, 'lang': code})}",
                "current": code == current,
            }
            for code in rules.SUPPORTED_LANGUAGES
        ],
    }


def _recovery_closed_page(
    request: HttpRequest, followup: FollowUp, context: dict[str, Any]
) -> HttpResponse | None:
    """The 410 page once the link expired, the closed page once the answer may no
    longer change; None while the link is open."""
    state = recovery_survey.recovery_link_state(
        sent_at=followup.recovery_sent_at,
        answered_at=followup.recovery_answered_at,
        now=timezone.now(),
    )
    if state == "expired":
        return customer_pages._public(
            request, "surveys/expired.html", context, status=410, switch=False
        )
    if state == "closed":
        return customer_pages._public(request, "surveys/closed.html", context, switch=False)
    return None


def _recovery_page(
    request: HttpRequest,
    token: str,
    open_page: Callable[[FollowUp, dict[str, Any]], HttpResponse],
) -> HttpResponse:
    """What both recovery pages do first: the rate limit, the case (else 404) in its
    language, and the expired or closed page once the link takes no answer; while
    it does, open_page(followup, context), rendered in that language."""
    if customer_pages._rate_limited(request):
        return customer_pages._too_many(request)
    followup, language = _recovery_or_404(request, token)
    with translation.override(language):
        context = _recovery_context(request, followup, token)
        closed = _recovery_closed_page(request, followup, context)
        return closed if closed is not None else open_page(followup, context)


# A cross-site form cannot know the link token, and these pages set no cookie: the
# token does CSRF's job (like the survey pages, whose no-referrer breaks CSRF checks).
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def recovery(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the question with the answer clicked in the email chosen and records
    nothing (mail scanners open every link); only the button (a POST) records it."""

    def question(followup: FollowUp, context: dict[str, Any]) -> HttpResponse:
        if request.method == "HEAD":  # mail scanners send many; nobody reads the body
            return customer_pages._private(HttpResponse(content_type="text/html; charset=utf-8"))
        if request.method == "POST":
            return _recovery_answer(request, followup, token, context)
        clicked = request.GET.get("answer", "")
        previous = ANSWERS.get(recovery_survey.recovery_answer_of(followup))
        context["form"] = RecoveryForm(
            initial={"answer": clicked if clicked in ANSWERS_SET else previous}
        )
        return customer_pages._public(request, "surveys/recovery.html", context, switch=False)

    return _recovery_page(request, token, question)


def _recovery_answer(
    request: HttpRequest, followup: FollowUp, token: str, context: dict[str, Any]
) -> HttpResponse:
    """Record a valid answer and go to the thank-you page; show an invalid one again
    (400) with what the customer wrote."""
    form = RecoveryForm(request.POST)
    if not form.is_valid():
        context["form"] = form
        return customer_pages._public(
            request, "surveys/recovery.html", context, status=400, switch=False
        )
    try:
        recovery_survey.recovery_answer_record(
            followup_id=followup.pk,
            recovered=form.cleaned_data["answer"] == "yes",
            comment=form.cleaned_data["comment"],
            now=timezone.now(),
        )
    except recovery_survey.RecoveryClosed:  # the window closed while the page was open
        followup.refresh_from_db()
        return _recovery_closed_page(request, followup, context) or redirect(request.path)
    thanks = reverse("metrics:recovery_thanks", args=[token])
    return redirect(customer_pages._with_lang(thanks, customer_pages._chosen_language(request)))


@never_cache
@require_http_methods(["GET", "HEAD"])
def recovery_thanks(request: HttpRequest, token: str) -> HttpResponse:
    def thanks(_followup: FollowUp, context: dict[str, Any]) -> HttpResponse:
        return customer_pages._public(request, "surveys/thanks.html", context, switch=False)

    return _recovery_page(request, token, thanks)


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
    context = reports.dashboard_build(filters=filters, comment_filter=comment_filter)
    context["followup_figures"] = recovery_survey.recovery_figures(filters=filters)
    context["followup_report_query"] = urlencode(
        {"from": filters.start.isoformat(), "to": filters.end.isoformat()}
    )
    filter_keep = [(k, v) for k, v in filters.params().items()]
    context.update(
        form=form,
        comment_form=comments,
        query=_query(filters),
        comment_keep=[("comments", comment_filter)] if comment_filter else [],
        filter_keep=filter_keep,
        min_answers=MIN_ANSWERS,
        nav="reports",
    )
    return render(request, "metrics/dashboard.html", context)


@staff_required
def monthly(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    context = reports.monthly_build(filters=reports.monthly_span(filters))
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
        context.update(reports.compare_build(before=before, after=after))
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
        "rows": tables.business_rows(BusinessFigures.objects.all()),
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
    ).filter(scope)
    return form, responses


@agent_login_required
def responses(request: HttpRequest) -> HttpResponse:
    form, rows = _responses(request)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "nav": "responses"}
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
    workbook = exports.xlsx_file([(tables.TABLES[table].title, header, rows)])
    return FileResponse(workbook, as_attachment=True, filename=f"{name}.xlsx")
