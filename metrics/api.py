"""Metrics and follow-ups over the API."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from . import selectors, services
from .models import FollowUp


class MetricQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=selectors.METRICS)
    to = serializers.DateField(required=False)
    group_by = serializers.ChoiceField(choices=selectors.GROUPS, required=False)

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


@api_view(["GET"])
def metrics(request: Request) -> ApiResponse:
    """Exact counts, score and 95 % interval per group for one metric."""
    query = MetricQuerySerializer(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    params = query.validated_data
    start: date = params["from"]
    end: date = params["to"]
    rows = selectors.metric_table(
        metric=params["metric"], start=start, end=end, group_by=params.get("group_by")
    )
    for row in rows:
        row["key"] = str(row["key"]) if row["key"] is not None else None
    return ApiResponse(
        {
            "metric": params["metric"],
            "from": start,
            "to": end,
            "group_by": params.get("group_by"),
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
