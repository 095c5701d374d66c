"""The customer's pages: the survey, its thank-you, unsubscribe; and the dev outbox."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import services
from .emails import UNSUBSCRIBE_SALT
from .forms import SurveyForm
from .models import Customer, OutboxMessage, SurveyPolicy


def _public(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _invitations_or_404(token: str) -> list:
    invitations = services.invitations_for_token(token)
    if not invitations:
        raise Http404("unknown survey link")
    return invitations


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the survey with the clicked score chosen and records nothing (mail
    scanners open every link); only the customer's POST stores an answer."""
    invitations = _invitations_or_404(token)
    with translation.override(invitations[0].locale):
        return _survey(request, token, invitations)


def _survey(request: HttpRequest, token: str, invitations: list) -> HttpResponse:
    now = timezone.now()
    context = {"invitations": invitations, "company": SurveyPolicy.load().company_name}
    if services.survey_is_expired(invitations, now):
        return _public(render(request, "surveys/expired.html", context, status=410))
    if services.survey_edit_closed(invitations, now):
        return _public(render(request, "surveys/closed.html", context))
    answered = {i.kind: i.response.raw_score for i in invitations if hasattr(i, "response")}
    if request.method == "POST":
        form = SurveyForm(request.POST, invitations=invitations, company=context["company"])
        if form.is_valid():
            try:
                services.response_record(
                    invitations=invitations,
                    answers=form.answers(),
                    comment=form.cleaned_data["comment"],
                    now=now,
                )
            except services.SurveyClosed:
                return _public(render(request, "surveys/expired.html", context, status=410))
            return redirect("surveys:thanks", token=token)
        status = 400
    else:
        initial = dict(answered)
        comment = next((i.response.comment for i in invitations if hasattr(i, "response")), "")
        initial["comment"] = comment
        clicked = request.GET.get(invitations[0].kind, "")
        if clicked.isdigit():
            initial[invitations[0].kind] = int(clicked)
        form = SurveyForm(initial=initial, invitations=invitations, company=context["company"])
        status = 200
    context.update(form=form, answered=bool(answered))
    return _public(render(request, "surveys/survey.html", context, status=status))


@never_cache
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    invitations = _invitations_or_404(token)
    context = {
        "invitations": invitations,
        "company": SurveyPolicy.load().company_name,
        "token": token,
    }
    with translation.override(invitations[0].locale):
        return _public(render(request, "surveys/thanks.html", context))


def _customer_for(token: str) -> Customer:
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise Http404("unknown unsubscribe link") from None
    return get_object_or_404(Customer, pk=pk)


@csrf_exempt  # RFC 8058: mail clients POST without cookies or a form token.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (scanners follow links); POST unsubscribes and
    answers 200 without a redirect, as one-click unsubscribe requires."""
    customer = _customer_for(token)
    with translation.override(customer.locale):
        return _unsubscribe(request, token, customer)


def _unsubscribe(request: HttpRequest, token: str, customer: Customer) -> HttpResponse:
    context = {"token": token, "company": SurveyPolicy.load().company_name}
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            services.customer_opt_in(customer=customer)
            return _public(render(request, "surveys/resubscribed.html", context))
        services.customer_opt_out(customer=customer)
        return _public(render(request, "surveys/unsubscribed.html", context))
    template = "surveys/unsubscribed.html" if customer.is_opted_out else "surveys/unsubscribe.html"
    return _public(render(request, template, context))


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
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response
    return render(request, "surveys/outbox_message.html", {"message": message})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _public(render(request, "404.html", status=404))
