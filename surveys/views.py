"""The customer's pages: the survey, its thank-you, unsubscribe; and the dev outbox.

Every public page is private (no-store, no referrer, no cookies, nothing loaded from
another host), rate limited by IP for unknown links only, and shown in the customer's
language unless they chose another with the language switch (?lang=, carried in the
page's own links).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import answering, clicks, rules, scoring, sending, services
from .emails import brand_context, unsubscribe_customer
from .forms import (
    SurveyForm,
    comment_prompt,
    comment_prompts,
    form_token_age,
    form_token_new,
    reason_field_name,
)
from .models import (
    Customer,
    Invitation,
    LinkClick,
    OutboxMessage,
    Survey,
    SurveyKind,
    SurveyPolicy,
    Ticket,
)
from .pages import chosen_language, link_unknown, private_headers, public_page, with_lang
from .reasons import reasons_by_response
from .tokens import embedded_token


def _survey_context(
    survey: Survey, invitations: list[Invitation], token: str, chosen: str
) -> dict[str, Any]:
    policy = SurveyPolicy.load()
    return {
        **brand_context(policy),
        "policy": policy,
        "survey": survey,
        "invitations": invitations,
        "token": token,
        "chosen_language": chosen,
        "survey_url": with_lang(reverse("surveys:survey", args=[token]), chosen),
    }


# --- The survey ---------------------------------------------------------------------


@csrf_exempt  # the signed form token below does CSRF's job, and needs no cookie
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the survey with the clicked score chosen and records nothing but
    the link fetch (mail scanners open every link); only a POST stores an answer."""
    found, invitations = answering.survey_questions_for_token(token)
    if found is None:
        return link_unknown(request, "unknown survey link")
    chosen = chosen_language(request)
    with translation.override(chosen or found.locale):
        context = _survey_context(found, invitations, token, chosen)
        return _survey(request, context)


def _survey(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    now = timezone.now()
    found, invitations = context["survey"], context["invitations"]
    if answering.survey_is_expired(found, invitations, now):
        return public_page(request, "surveys/expired.html", context, status=410)
    if answering.survey_edit_closed(invitations, now, context["policy"]):
        return public_page(request, "surveys/closed.html", context)
    policy = context["policy"]
    form_kwargs = {
        "invitations": invitations,
        "company": policy.company_name,
        "style": policy.csat_style,
    }
    if request.method == "POST":
        form = SurveyForm(request.POST, **form_kwargs)
        if form.is_valid():
            return _survey_answer(request, form, context, now)
        status = 400
    else:
        clicked = request.GET.get(invitations[0].kind, "")
        if not context["chosen_language"]:  # a link from the email, not one of the page's own
            _click_record(request, found, clicked, now)
        if request.method == "HEAD":  # mail scanners send many; nobody reads the body
            return private_headers(HttpResponse(content_type="text/html; charset=utf-8"))
        form = SurveyForm(initial=_survey_initial(invitations, clicked), **form_kwargs)
        status = 200
        if not context["chosen_language"]:
            context["click"] = _click_to_count(context["token"], invitations[0], clicked)
    context.update(
        form=form,
        answered=any(hasattr(i, "response") for i in invitations),
        form_token=form_token_new(survey_key=_survey_key(found), now=now),
        comment_prompts=comment_prompts(),
        comment_label=comment_prompt(invitations[0], form.first_score()),
    )
    return public_page(request, "surveys/survey.html", context, status=status)


def _click_to_count(token: str, question: Invitation, clicked: str) -> dict[str, Any] | None:
    """The score the page sends by itself (survey.js): the one a rating link in the
    email was clicked with, while its question has no answer yet."""
    score = _on_scale(question, clicked)
    if hasattr(question, "response") or score is None:
        return None
    return {"url": reverse("surveys:click", args=[token]), "kind": question.kind, "score": score}


def _on_scale(question: Invitation, value: str) -> int | None:
    """The score a link or the page's script names, if it is one on the question's scale."""
    low, high = scoring.score_range(kind=question.kind, scale_points=question.scale_points)
    return int(value) if value.isdigit() and low <= int(value) <= high else None


def _survey_key(found: Survey) -> str:
    """What ties a form token to its survey."""
    return f"survey-{found.pk}"


def _survey_initial(invitations: list[Invitation], clicked: str) -> dict[str, Any]:
    """The answers given so far (with their reasons), and the score clicked in the email."""
    answered = [i for i in invitations if hasattr(i, "response")]
    initial: dict[str, Any] = {i.kind: i.response.raw_score for i in answered}
    initial["comment"] = next((i.response.comment for i in answered), "")
    if answered:
        given = reasons_by_response(i.response.pk for i in answered)
        for i in answered:
            initial[reason_field_name(i.kind)] = [r.pk for r in given.get(i.response.pk, [])]
    if clicked.isdigit():
        initial[invitations[0].kind] = int(clicked)
    return initial


def _survey_answer(
    request: HttpRequest, form: SurveyForm, context: dict[str, Any], now: Any
) -> HttpResponse:
    """Record a valid answer; one that looks automated is held for review."""
    found, invitations = context["survey"], context["invitations"]
    chosen = context["chosen_language"]
    age = form_token_age(request.POST.get("ft", ""), survey_key=_survey_key(found), now=now)
    try:
        answering.response_record(
            invitations=invitations,
            answers=form.answers(),
            comment=form.cleaned_data["comment"],
            now=now,
            held_reason=rules.answer_hold_reason(
                page_age_seconds=age, min_seconds=settings.SURVEY_MIN_ANSWER_SECONDS
            ),
            language=chosen,
            policy=context["policy"],
            reasons=form.reasons(),
        )
    except answering.SurveyClosed:
        return public_page(request, "surveys/expired.html", context, status=410)
    return redirect(with_lang(reverse("surveys:thanks", args=[context["token"]]), chosen))


@csrf_exempt  # the signed form token does CSRF's job, as on the page
@never_cache
@require_http_methods(["POST"])
def survey_click(request: HttpRequest, token: str) -> HttpResponse:
    """The score a rating link was clicked with, sent by the page itself once a
    person's browser has shown it for about a second (or at the first interaction):
    the click counts as the answer. A fetch that never runs the page's script sends
    nothing. Sent too soon after the page was served, without its form token, or for a
    survey whose invisible link was fetched, the answer is held for review, as on the
    page. An answered question is left as it is: 204 either way; 400 for bad input."""
    found, invitations = answering.survey_questions_for_token(token)
    if found is None:
        return link_unknown(request, "unknown survey link")
    now = timezone.now()
    kind, score = request.POST.get("kind", ""), request.POST.get("score", "")
    question = next((i for i in invitations if i.kind == kind), None)
    value = None if question is None else _on_scale(question, score)
    if question is None or value is None:
        return JsonResponse(
            {"detail": "kind and score must name a question and a score on its scale."}, status=400
        )
    if answering.survey_is_expired(found, invitations, now):
        return JsonResponse({"detail": "This survey has closed."}, status=410)
    if hasattr(question, "response"):
        return HttpResponse(status=204)  # answered already: a second visit adds nothing
    age = form_token_age(request.POST.get("ft", ""), survey_key=_survey_key(found), now=now)
    held = rules.answer_hold_reason(
        page_age_seconds=age, min_seconds=settings.SURVEY_MIN_CLICK_SECONDS
    ) or clicks.honeypot_reason(found)
    try:
        answering.response_record(
            invitations=[question],
            answers={kind: value},
            now=now,
            held_reason=held,
            completed=False,
        )
    except answering.SurveyClosed:
        return JsonResponse({"detail": "This survey has closed."}, status=410)
    return HttpResponse(status=204)


@never_cache
@require_http_methods(["GET", "HEAD"])
def embedded(request: HttpRequest, source: str, external_id: str) -> HttpResponse:
    """A rating button in the helpdesk's own email (embedded): the ticket's survey
    page with the clicked score chosen, as from Kundpuls's own email. Only a ticket
    Kundpuls knows from that helpdesk, solved and waiting for this click; a signed
    connection's links must carry the ticket's token. Anything else counts against the
    address like a guessed link (404, then 429)."""
    survey = (
        Survey.objects.filter(
            ticket__source=source,
            ticket__external_id=external_id,
            ticket__status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED],
            state__in=[Survey.State.SENT, Survey.State.ANSWERED],
        )
        .exclude(embedded="")
        .order_by("-pk")
        .first()
    )
    if survey is None:
        return link_unknown(request, "no ticket waiting for this rating")
    given = request.GET.get("t", "")
    expected = embedded_token(source=source, external_id=external_id)
    if survey.embedded == "signed" and not hmac.compare_digest(given, expected):
        return link_unknown(request, "the ticket's token does not match")
    token = sending.survey_link(survey)
    scores = {k: v for k, v in request.GET.items() if k in SurveyKind.values and v.isdigit()}
    url = reverse("surveys:survey", args=[token])
    return redirect(f"{url}?{urlencode(scores)}" if scores else url)


def _click_record(request: HttpRequest, found: Survey, clicked: str, now: Any) -> None:
    link = LinkClick.Link.RATING if clicked.isdigit() and len(clicked) <= 2 else None
    clicks.link_click_record(
        survey=found,
        link=link or LinkClick.Link.SURVEY,
        score=int(clicked) if link else None,
        method=request.method or "GET",
        user_agent=request.headers.get("user-agent", ""),
        now=now,
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def honeypot(request: HttpRequest, token: str) -> HttpResponse:
    """The email's invisible link: only a machine fetches it."""
    found, invitations = answering.survey_questions_for_token(token)
    if found is None:
        return link_unknown(request, "unknown survey link")
    clicks.link_click_record(
        survey=found,
        link=LinkClick.Link.HONEYPOT,
        method=request.method or "GET",
        user_agent=request.headers.get("user-agent", ""),
    )
    chosen = chosen_language(request)
    language = chosen or found.locale
    with translation.override(language):
        context = _survey_context(found, invitations, token, chosen or language)
        return public_page(request, "surveys/honeypot.html", context)


@never_cache
@require_http_methods(["GET", "HEAD"])
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    found, invitations = answering.survey_questions_for_token(token)
    if found is None:
        return link_unknown(request, "unknown survey link")
    chosen = chosen_language(request)
    language = chosen or found.locale
    with translation.override(language):
        context = _survey_context(found, invitations, token, chosen)
        # Carries the language, so going back is not taken for a click in the email.
        context["change_url"] = with_lang(reverse("surveys:survey", args=[token]), language)
        return public_page(request, "surveys/thanks.html", context)


# --- Unsubscribe -----------------------------------------------------------------------


@csrf_exempt  # RFC 8058: mail clients POST without cookies or a form token.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (scanners follow links); POST unsubscribes and
    answers 200 without a redirect, as one-click unsubscribe requires. A genuine link
    is never rate limited: mail providers post one-click unsubscribes for many
    customers from a few addresses. A link older than UNSUBSCRIBE_LINK_DAYS changes
    nothing (410): its page offers a fresh link by email, to the customer's address."""
    customer, expired = unsubscribe_customer(token)
    if customer is None:
        return link_unknown(request, "unknown unsubscribe link")
    chosen = chosen_language(request)
    with translation.override(chosen or customer.locale):
        if expired:
            return _unsubscribe_expired(request, token, customer, chosen)
        return _unsubscribe(request, token, customer, chosen)


def _unsubscribe_context(token: str, chosen: str) -> dict[str, Any]:
    return {
        **brand_context(SurveyPolicy.load()),
        "token": token,
        "action_url": with_lang(reverse("surveys:unsubscribe", args=[token]), chosen),
    }


def _unsubscribe(request: HttpRequest, token: str, customer: Customer, chosen: str) -> HttpResponse:
    context = _unsubscribe_context(token, chosen)
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            services.customer_opt_in(customer=customer)
            return public_page(request, "surveys/resubscribed.html", context)
        services.customer_opt_out(customer=customer)
        return public_page(request, "surveys/unsubscribed.html", context)
    template = "surveys/unsubscribed.html" if customer.is_opted_out else "surveys/unsubscribe.html"
    return public_page(request, template, context)


def _unsubscribe_expired(
    request: HttpRequest, token: str, customer: Customer, chosen: str
) -> HttpResponse:
    context = _unsubscribe_context(token, chosen)
    if request.method == "POST" and request.POST.get("action") == "fresh-link":
        services.unsubscribe_link_ask(customer=customer, now=timezone.now())
        # The same page whether or not one went within the hour: it says where to look.
        return public_page(request, "surveys/unsubscribe_link_sent.html", context)
    return public_page(request, "surveys/unsubscribe_expired.html", context, status=410)


# --- The company's logo ----------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def logo(request: HttpRequest, version: str) -> HttpResponse:
    """The logo from the survey policy, at an address that changes with it, so
    emails and pages may cache it for good."""
    # With the logo, so the bytes served match the hash checked (one query).
    policy = SurveyPolicy.load(with_logo=True)
    if not policy.logo_hash or version != policy.logo_hash:
        raise Http404("no such logo")
    response = HttpResponse(bytes(policy.logo), content_type=policy.logo_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


# --- Staff and errors --------------------------------------------------------------------


@staff_member_required
def outbox(request: HttpRequest) -> HttpResponse:
    messages = OutboxMessage.objects.all()[:200]
    return render(request, "surveys/outbox.html", {"messages": messages})


@staff_member_required
@xframe_options_sameorigin
def outbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    if request.GET.get("part") == "html":
        response = HttpResponse(message.html)
        response["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
        )
        return response
    return render(request, "surveys/outbox_message.html", {"message": message})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    chosen = chosen_language(request)
    with translation.override(chosen or translation.get_language()):
        return public_page(request, "404.html", {}, status=404, switch=False)
