"""Pages for agents: a follow-up case."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from .forms import FollowUpStatusForm
from .models import FollowUp
from .services import followup_status_set


@login_required
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    followup = get_object_or_404(
        FollowUp.objects.select_related(
            "owner", "invitation__ticket", "invitation__customer", "invitation__response"
        ),
        pk=pk,
    )
    if not (request.user.is_staff or followup.owner_id == request.user.pk):
        raise Http404("not your follow-up")
    form = FollowUpStatusForm(request.POST or None, instance=followup)
    if request.method == "POST" and form.is_valid():
        followup_status_set(followup=followup, status=form.cleaned_data["status"])
        return redirect(followup)
    siblings = followup.invitation.ticket.invitations.select_related("response").order_by("kind")
    return render(
        request,
        "metrics/followup_detail.html",
        {"followup": followup, "form": form, "invitations": siblings},
    )
