"""Metrics and follow-ups over the API."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys.models import Response

from . import selectors, services
from .models import FollowUp
from .responses import responses_for_api


class MetricQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=selectors.METRICS)
    to = serializers.DateField(required=False)
    group_by = serializers.ChoiceField(choices=selectors.GROUPS, required=False)
    team = serializers.IntegerField(required=False, min_value=1)
    agent = serializers.IntegerField(required=False, min_value=1)
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
            "reason",
            "created_at",
            "updated_at",
            "url",
        ]

    def get_owner(self, obj: FollowUp) -> str | None:
        return obj.owner.email if obj.owner else None

    def get_url(self, obj: FollowUp) -> str:
        from surveys.emails import absolute

        return absolute(obj.get_absolute_url())


@api_view(["GET"])
def followups(request: Request) -> ApiResponse:
    status_filter = request.query_params.get("status")
    allowed = {"open", *FollowUp.Status.values}
    if status_filter and status_filter not in allowed:
        return ApiResponse(
            {"status": [f"Choose one of: {', '.join(sorted(allowed))}."]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    rows = services.followups_open(status=status_filter)
    return ApiResponse({"results": FollowUpSerializer(rows[:500], many=True).data})


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
