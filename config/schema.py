"""OpenAPI annotations for the API, kept apart from the views' behaviour.

The views are plain @api_view functions, so drf-spectacular cannot guess their
bodies; the annotations below are applied to them here (imported by config.urls).
Every error body is a JSON object: {"detail": "..."} (401, 403, 404, 405, 415, 429,
and 400 for unreadable JSON) or field names mapped to lists of messages (400).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from followups import api as followups_api
from integrations import outbound
from metrics import api as metrics_api
from privacy import api as privacy_api
from surveys import api as surveys_api
from surveys.models import SurveyKind, Ticket


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "surveys.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py createapitoken`.",
        }


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class InvitationResultSerializer(serializers.Serializer):
    """One question of the ticket's survey, with the survey's state."""

    kind = serializers.ChoiceField(choices=SurveyKind.choices)
    state = serializers.CharField()
    send_after = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class SurveyResultSerializer(serializers.Serializer):
    """The survey email of a solved ticket."""

    id = serializers.IntegerField()
    state = serializers.CharField()
    send_after = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class TicketResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    external_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    changed = serializers.BooleanField()
    survey = SurveyResultSerializer(allow_null=True)
    invitations = InvitationResultSerializer(many=True)


class ResponsePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = surveys_api.ResponseSerializer(many=True)


class FollowUpListSerializer(serializers.Serializer):
    results = followups_api.FollowUpSerializer(many=True)


# 400 bodies are {"field": ["message", ...]} or {"detail": "..."}: any object.
BAD_REQUEST = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input.")
ERRORS = {
    400: BAD_REQUEST,
    401: OpenApiResponse(ErrorSerializer, description="Missing, invalid or revoked key."),
}
PAGING = [
    OpenApiParameter("limit", int, description="Rows per page (default 100)."),
    OpenApiParameter("offset", int, description="Rows to skip."),
]

extend_schema(
    request=surveys_api.TicketEventSerializer,
    responses={
        200: OpenApiResponse(TicketResultSerializer, description="The ticket existed."),
        201: OpenApiResponse(TicketResultSerializer, description="The ticket was created."),
        **ERRORS,
    },
    tags=["tickets"],
)(surveys_api.tickets)

extend_schema(
    parameters=[metrics_api.ResponseQuerySerializer, *PAGING],
    responses={200: ResponsePageSerializer, **ERRORS},
    tags=["responses"],
)(metrics_api.responses)

extend_schema(
    parameters=[metrics_api.MetricQuerySerializer],
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
    tags=["metrics"],
)(metrics_api.metrics)

extend_schema(
    parameters=[followups_api.FollowUpQuerySerializer],
    responses={200: FollowUpListSerializer, **ERRORS},
    tags=["followups"],
)(followups_api.followups)

extend_schema(
    request=followups_api.FollowUpUpdateSerializer,
    responses={
        200: followups_api.FollowUpSerializer,
        404: OpenApiResponse(ErrorSerializer, description="No open case has this id."),
        **ERRORS,
    },
    tags=["followups"],
)(followups_api.followup_update)

extend_schema(
    request=outbound.SubscriptionSerializer,
    responses={
        201: OpenApiResponse(
            outbound.SubscriptionSerializer,
            description="Subscribed. The secret (whsec_...) is shown in this answer only.",
        ),
        **ERRORS,
    },
    tags=["webhooks"],
)(outbound.subscriptions)


NOT_ADMIN = OpenApiResponse(ErrorSerializer, description="The key is not an admin key.")


class ErasureSerializer(serializers.Serializer):
    erased = serializers.IntegerField(help_text="Customers erased: 1, or 0 when none was left.")
    rows = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rows emptied or deleted, by kind."
    )


extend_schema(
    request=privacy_api.CustomerAddressSerializer,
    responses={
        200: OpenApiResponse(
            ErasureSerializer,
            description="Erased (or nothing left to erase: safe to repeat). Admin key only.",
        ),
        403: NOT_ADMIN,
        **ERRORS,
    },
    tags=["customers"],
)(privacy_api.customer_erase_view)

extend_schema(
    parameters=[privacy_api.CustomerAddressSerializer],
    responses={
        200: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="Everything stored about the customer: tickets, surveys, answers "
            "with their history, link clicks, cases, emails. Admin key only.",
        ),
        403: NOT_ADMIN,
        404: OpenApiResponse(ErrorSerializer, description="No customer has this address."),
        **ERRORS,
    },
    tags=["customers"],
)(privacy_api.customer_export_view)
