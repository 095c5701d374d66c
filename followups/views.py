"""Pages: the follow-up inbox and cases (agents), and the customers' "Did we sort it
out?" page (public, by link token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from surveys import pages
from surveys.emails import brand_context
from surveys.models import SurveyPolicy
from surveys.reasons import reason_labels

from . import recovery as recovery_survey
from . import services
from .emails import recovery_language
from .forms import (
    CustomerReplyForm,
    FollowUpNoteForm,
    FollowUpReassignForm,
    FollowUpStatusForm,
    RecoveryForm,
)
from .models import FollowUp

# Agents are not staff, so the admin's login page would turn them away.
agent_login_required = login_required(login_url="followups:login")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The page a signed-in person gets for a page their role may not open: styled, with
    the way back to where their work is. Returned, not raised, so the log says
    "Forbidden" without a traceback. Also Django's handler403."""
    return render(request, "403.html", {"nav": ""}, status=403)


def _followup_for(request: HttpRequest, pk: int) -> FollowUp:
    """The case if this user may see it; 404 otherwise (its existence stays hidden)."""
    return get_object_or_404(
        services.followups_visible(user=request.user).select_related("survey__team"),
        pk=pk,
    )


@agent_login_required
def inbox(request: HttpRequest) -> HttpResponse:
    scope = "all" if request.GET.get("scope") == "all" else "mine"
    rows = services.followups_inbox(user=request.user, scope=scope)
    context = {
        "followups": rows,
        "scope": scope,
        "sees_others": services.followups_sees_others(user=request.user),
        "now": timezone.now(),
        "nav": "followups",
    }
    return render(request, "followups/inbox.html", context)


@agent_login_required
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    form = FollowUpStatusForm(request.POST or None, instance=followup)
    if request.method == "POST" and form.is_valid():
        services.followup_status_set(
            followup=followup,
            status=form.cleaned_data["status"],
            outcome=form.cleaned_data.get("outcome") or None,
            actor=request.user,
            now=timezone.now(),
        )
        messages.success(request, _("Saved."))
        return redirect(followup)
    return _detail(request, followup, status_form=form)


def _detail(request: HttpRequest, followup: FollowUp, **forms: Any) -> HttpResponse:
    can_reassign = services.followup_can_reassign(user=request.user, followup=followup)
    owners = services.followup_owner_choices(user=request.user, followup=followup)
    answers = followup.answers
    # Each answer with the reasons the customer ticked, in the reader's language.
    labels = reason_labels((a.pk for a in answers), language=translation.get_language())
    context: dict[str, Any] = {
        "followup": followup,
        "status_form": FollowUpStatusForm(instance=followup),
        "note_form": FollowUpNoteForm(),
        "reassign_form": FollowUpReassignForm(owners=owners) if can_reassign else None,
        "answers": answers,
        "answers_with_reasons": [(answer, labels.get(answer.pk, [])) for answer in answers],
        "events": followup.events.select_related("actor"),
        "nav": "followups",
        **services.customer_history(followup=followup),
        **forms,
    }
    return render(request, "followups/followup_detail.html", context)


@agent_login_required
@require_POST
def followup_note(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    form = FollowUpNoteForm(request.POST)
    if not form.is_valid():
        return _detail(request, followup, note_form=form)
    services.followup_note_add(
        followup=followup, actor=request.user, text=form.cleaned_data["text"], now=timezone.now()
    )
    messages.success(request, _("Note added."))
    return redirect(followup)


@agent_login_required
def followup_email(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    form = CustomerReplyForm(
        request.POST or None,
        initial=services.customer_reply_draft(followup=followup, sender=request.user),
    )
    if request.method == "POST" and form.is_valid():
        services.customer_reply_send(
            followup=followup, actor=request.user, now=timezone.now(), **form.cleaned_data
        )
        messages.success(
            request, _("Email sent to %(email)s.") % {"email": followup.survey.customer.email}
        )
        return redirect(followup)
    context = {"followup": followup, "form": form, "nav": "followups"}
    return render(request, "followups/followup_email.html", context)


@agent_login_required
@require_POST
def followup_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    followup = _followup_for(request, pk)
    if not services.followup_can_reassign(user=request.user, followup=followup):
        return forbidden(request)
    owners = services.followup_owner_choices(user=request.user, followup=followup)
    form = FollowUpReassignForm(request.POST, owners=owners)
    if not form.is_valid():
        return _detail(request, followup, reassign_form=form)
    services.followup_reassign(
        followup=followup, owner=form.cleaned_data["owner"], actor=request.user, now=timezone.now()
    )
    messages.success(request, _("Reassigned."))
    return redirect(followup)


# The customer's latest answer as the page's choice.
ANSWERS = {FollowUp.Outcome.RECOVERED: "yes", FollowUp.Outcome.NOT_RECOVERED: "no"}


ANSWERS_SET = tuple(ANSWERS.values())


def _recovery_context(request: HttpRequest, followup: FollowUp, token: str) -> dict[str, Any]:
    chosen = pages.chosen_language(request)
    keep = {k: v for k, v in request.GET.items() if k == "answer" and v in ANSWERS_SET}
    current = translation.get_language()
    return {
        **brand_context(SurveyPolicy.load()),
        "subject": followup.survey.ticket.subject or str(followup.survey.ticket),
        "answered": followup.recovery_answered_at is not None,
        "action_url": pages.with_lang(reverse("followups:recovery", args=[token]), chosen),
        "change_url": pages.with_lang(
            reverse("followups:recovery", args=[token]), chosen or current
        ),
        "language_links": pages.language_links(request, current, keep),
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
        return pages.public_page(request, "surveys/expired.html", context, status=410, switch=False)
    if state == "closed":
        return pages.public_page(request, "surveys/closed.html", context, switch=False)
    return None


def _recovery_page(
    request: HttpRequest,
    token: str,
    open_page: Callable[[FollowUp, dict[str, Any]], HttpResponse],
) -> HttpResponse:
    """What both recovery pages do first: the rate limit, the case (else 404) in its
    language, and the expired or closed page once the link takes no answer; while
    it does, open_page(followup, context), rendered in that language."""
    followup = recovery_survey.followup_for_recovery_token(token=token)
    if followup is None:
        return pages.link_unknown(request, "unknown recovery link")
    language = pages.chosen_language(request) or recovery_language(followup)
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
            return pages.private_headers(HttpResponse(content_type="text/html; charset=utf-8"))
        if request.method == "POST":
            return _recovery_answer(request, followup, token, context)
        clicked = request.GET.get("answer", "")
        previous = ANSWERS.get(recovery_survey.recovery_answer_of(followup))
        context["form"] = RecoveryForm(
            initial={"answer": clicked if clicked in ANSWERS_SET else previous}
        )
        return pages.public_page(request, "followups/recovery.html", context, switch=False)

    return _recovery_page(request, token, question)


def _recovery_answer(
    request: HttpRequest, followup: FollowUp, token: str, context: dict[str, Any]
) -> HttpResponse:
    """Record a valid answer and go to the thank-you page; show an invalid one again
    (400) with what the customer wrote."""
    form = RecoveryForm(request.POST)
    if not form.is_valid():
        context["form"] = form
        return pages.public_page(
            request, "followups/recovery.html", context, status=400, switch=False
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
    thanks = reverse("followups:recovery_thanks", args=[token])
    return redirect(pages.with_lang(thanks, pages.chosen_language(request)))


@never_cache
@require_http_methods(["GET", "HEAD"])
def recovery_thanks(request: HttpRequest, token: str) -> HttpResponse:
    def thanks(_followup: FollowUp, context: dict[str, Any]) -> HttpResponse:
        return pages.public_page(request, "surveys/thanks.html", context, switch=False)

    return _recovery_page(request, token, thanks)
