"""Follow-up cases over the API: GET /api/v1/followups and PATCH /api/v1/followups/<id>."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys.emails import absolute

from . import services as cases
from .models import FollowUp


class FollowUpSerializer(serializers.ModelSerializer):
    """One case: kind and score are its first low answer's; scores has every answer
    of its survey (raw, by kind); held says an answer of it is held for review."""

    survey = serializers.IntegerField(source="survey_id")
    ticket = serializers.CharField(source="survey.ticket.external_id")
    source = serializers.CharField(source="survey.ticket.source")
    kind = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    held = serializers.SerializerMethodField()
    customer = serializers.EmailField(source="survey.customer.email")
    owner = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "survey",
            "ticket",
            "source",
            "kind",
            "score",
            "scores",
            "held",
            "customer",
            "owner",
            "status",
            "outcome",
            "reason",
            "due_at",
            "created_at",
            "updated_at",
            "url",
        ]

    def get_kind(self, obj: FollowUp) -> str | None:
        lead = cases.case_lead_answer(obj.answers)
        return lead.invitation.kind if lead else None

    def get_score(self, obj: FollowUp) -> int | None:
        lead = cases.case_lead_answer(obj.answers)
        return lead.raw_score if lead else None

    def get_scores(self, obj: FollowUp) -> dict[str, int]:
        return {answer.invitation.kind: answer.raw_score for answer in obj.answers}

    def get_held(self, obj: FollowUp) -> bool:
        return obj.is_held

    def get_owner(self, obj: FollowUp) -> str | None:
        return obj.owner.email if obj.owner else None

    def get_url(self, obj: FollowUp) -> str:
        return absolute(obj.get_absolute_url())


class FollowUpQuerySerializer(serializers.Serializer):
    """The filters of GET /api/v1/followups; every one is optional."""

    status = serializers.ChoiceField(choices=["open", *FollowUp.Status.values], required=False)
    owner = serializers.CharField(required=False, max_length=254, help_text="User id or email.")
    team = serializers.CharField(required=False, max_length=100, help_text="Team id or name.")
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)

    def followups(self) -> QuerySet[FollowUp]:
        data = self.validated_data
        rows = cases.followups_open(status=data.get("status"))
        if data.get("owner"):
            owner = data["owner"]
            rows = (
                rows.filter(owner_id=int(owner))
                if owner.isdigit()
                else rows.filter(owner__email__iexact=owner)
            )
        if data.get("team"):
            team = data["team"]
            rows = (
                rows.filter(survey__team_id=int(team))
                if team.isdigit() and len(team) <= 18
                else rows.filter(survey__team__name__iexact=team)
            )
        if data.get("overdue") is not None:
            overdue = FollowUp.overdue_q(timezone.now())
            rows = rows.filter(overdue) if data["overdue"] else rows.exclude(overdue)
        return rows


@api_view(["GET"])
def followups(request: Request) -> ApiResponse:
    """Follow-up cases, newest first. Filters: status (or "open"), owner, team, overdue."""
    query = FollowUpQuerySerializer(data=request.query_params.dict())
    if not query.is_valid():
        errors = dict(query.errors)
        if "status" in errors:
            allowed = {"open", *FollowUp.Status.values}
            errors["status"] = [f"Choose one of: {', '.join(sorted(allowed))}."]
        return ApiResponse(errors, status=status.HTTP_400_BAD_REQUEST)
    rows = query.followups()
    return ApiResponse({"results": FollowUpSerializer(rows[:500], many=True).data})


class FollowUpUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FollowUp.Status.choices, required=False)
    outcome = serializers.ChoiceField(choices=FollowUp.Outcome.choices, required=False)
    owner = serializers.EmailField(required=False, help_text="The new owner's email.")

    def validate_owner(self, value: str) -> Any:
        owner = get_user_model().objects.filter(email__iexact=value, is_active=True).first()
        if owner is None:
            raise serializers.ValidationError("No active user has this email.")
        return owner


@api_view(["PATCH"])
def followup_update(request: Request, pk: int) -> ApiResponse:
    """Change a case's status, outcome or owner; each change goes on its history."""
    followup = get_object_or_404(cases.followups_open(), pk=pk)
    update = FollowUpUpdateSerializer(data=request.data)
    update.is_valid(raise_exception=True)
    data = update.validated_data
    now = timezone.now()
    if "status" in data or "outcome" in data:
        followup = cases.followup_status_set(
            followup=followup,
            status=data.get("status", followup.status),
            outcome=data.get("outcome"),
            now=now,
        )
    if "owner" in data:
        followup = cases.followup_reassign(
            followup=followup, owner=data["owner"], actor=None, now=now
        )
    return ApiResponse(FollowUpSerializer(cases.followups_open().get(pk=pk)).data)
