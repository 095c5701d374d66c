"""Metrics and follow-ups over the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys.models import Response

from . import followups as cases
from . import selectors
from .models import FollowUp
from .responses import responses_for_api


class MetricQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=selectors.METRICS)
    to = serializers.DateField(required=False)
    group_by = serializers.ChoiceField(choices=selectors.GROUPS, required=False)
    # Capped at the database's bigint, so an absurd id is a 400, not a driver error.
    team = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    agent = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    channel = serializers.CharField(required=False, max_length=30)
    category = serializers.CharField(required=False, max_length=100)

    def get_fields(self) -> dict:
        # "from" is a Python keyword, so it cannot be declared as an attribute.
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        return fields

    def validate(self, attrs: dict) -> dict:
        end = attrs.get("to") or timezone.localdate()
        start = attrs.get("from") or end - timedelta(days=29)
        if start > end:
            raise serializers.ValidationError({"from": ["Must not be after 'to'."]})
        attrs["from"], attrs["to"] = start, end
        return attrs

    def filters(self) -> selectors.ReportFilters:
        data = self.validated_data
        return selectors.ReportFilters(
            start=data["from"],
            end=data["to"],
            **{name: data.get(name) for name in selectors.DIMENSIONS},
        )


@api_view(["GET"])
def metrics(request: Request) -> ApiResponse:
    """Exact counts, score and 95 % interval per group for one metric.

    Filters: from, to (dates, inclusive), team and agent (ids), channel, category.
    """
    query = MetricQuerySerializer(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    params = query.validated_data
    filters = query.filters()
    rows = selectors.metric_table(
        metric=params["metric"], filters=filters, group_by=params.get("group_by")
    )
    for row in rows:
        row["key"] = str(row["key"]) if row["key"] is not None else None
    return ApiResponse(
        {
            "metric": params["metric"],
            "from": filters.start,
            "to": filters.end,
            "group_by": params.get("group_by"),
            "filters": {name: params.get(name) for name in selectors.DIMENSIONS},
            "results": rows,
        }
    )


class FollowUpSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="invitation.ticket.external_id")
    source = serializers.CharField(source="invitation.ticket.source")
    kind = serializers.CharField(source="invitation.kind")
    score = serializers.IntegerField(source="invitation.response.raw_score")
    customer = serializers.EmailField(source="invitation.customer.email")
    owner = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "ticket",
            "source",
            "kind",
            "score",
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

    def get_owner(self, obj: FollowUp) -> str | None:
        return obj.owner.email if obj.owner else None

    def get_url(self, obj: FollowUp) -> str:
        from surveys.emails import absolute

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
                rows.filter(invitation__team_id=int(team))
                if team.isdigit() and len(team) <= 18
                else rows.filter(invitation__team__name__iexact=team)
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


class ResponseQuerySerializer(serializers.Serializer):
    """The filters of GET /api/v1/responses; every one is optional."""

    ticket = serializers.CharField(required=False, max_length=100)
    source = serializers.CharField(required=False, max_length=50)
    kind = serializers.ChoiceField(choices=selectors.KINDS, required=False)
    to = serializers.DateField(required=False)
    agent = serializers.CharField(required=False, max_length=254, help_text="User id or email.")
    team = serializers.CharField(required=False, max_length=100, help_text="Team id or name.")
    min_score = serializers.IntegerField(required=False, min_value=0, max_value=10)
    max_score = serializers.IntegerField(required=False, min_value=0, max_value=10)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        return fields

    def validate(self, attrs: dict) -> dict:
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Must not be after 'to'."]})
        low, high = attrs.get("min_score"), attrs.get("max_score")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_score": ["Must not be above max_score."]})
        return attrs

    def responses(self) -> QuerySet[Response]:
        """The matching responses, oldest first (a stable order for paging)."""
        data = self.validated_data
        return responses_for_api(
            ticket=data.get("ticket"),
            source=data.get("source"),
            kind=data.get("kind"),
            start=data.get("from"),
            end=data.get("to"),
            agent=data.get("agent"),
            team=data.get("team"),
            min_score=data.get("min_score"),
            max_score=data.get("max_score"),
        )
