"""Metrics and answers over the API: GET /api/v1/metrics and GET /api/v1/responses."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys.api import ResponseSerializer
from surveys.models import Response

from . import selectors
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


@api_view(["GET"])
def responses(request: Request) -> ApiResponse:
    """Responses, oldest first, paged (?limit=&offset=). Filters: ticket, source, kind,
    from, to (days answered, inclusive), agent (id or email), team (id or name),
    min_score, max_score (normalised scores)."""
    query = ResponseQuerySerializer(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(ResponseSerializer.values(query.responses()), request)
    return paginator.get_paginated_response(ResponseSerializer.represented(page))
