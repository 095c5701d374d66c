"""The ticket ingestion API (POST /api/v1/tickets) and how an answer is shown over the
API (the responses list and the webhook payloads use ResponseSerializer)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.core.validators import EmailValidator
from django.db.models import QuerySet
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from . import services
from .addresses import validate_address
from .models import Reason, Response, Survey, Ticket
from .reasons import reasons_by_response


class InternationalEmailField(serializers.EmailField):
    """An email address whose local part may be non-ASCII (RFC 6531: ünï@kund.example);
    the schema still calls it an email."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, EmailValidator)]
        self.validators.append(validate_address)


class PersonSerializer(serializers.Serializer):
    email = InternationalEmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RequesterSerializer(PersonSerializer):
    locale = serializers.CharField(max_length=35, required=False, allow_blank=True, default="")


class TicketEventSerializer(serializers.Serializer):
    source = serializers.SlugField(max_length=50)
    external_id = serializers.CharField(max_length=100)
    subject = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    channel = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=100
    )
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    requester = RequesterSerializer()
    assignee = PersonSerializer(required=False, allow_null=True, default=None)
    team = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    created_at = serializers.DateTimeField()
    first_response_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    solved_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    agent_replies = serializers.IntegerField(
        min_value=0, max_value=100000, required=False, default=0
    )
    reopens = serializers.IntegerField(min_value=0, max_value=100000, required=False, default=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        solved = attrs["status"] in (Ticket.Status.SOLVED, Ticket.Status.CLOSED)
        if solved and attrs["solved_at"] is None:
            raise serializers.ValidationError({"solved_at": ["Required when status is solved."]})
        for name in ("first_response_at", "solved_at"):
            if attrs[name] is not None and attrs[name] < attrs["created_at"]:
                raise serializers.ValidationError({name: ["Must not be before created_at."]})
        attrs["channel"] = attrs["channel"].lower()
        return attrs


@api_view(["POST"])
def tickets(request: Request) -> ApiResponse:
    """Create or update a ticket: 201 when created, 200 when it existed."""
    serializer = TicketEventSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    result = services.ticket_ingest(event=serializer.validated_data)
    ticket = result.ticket
    body = {
        "id": ticket.pk,
        "source": ticket.source,
        "external_id": ticket.external_id,
        "status": ticket.status,
        "changed": result.changed,
        "survey": None,
        "invitations": [],
    }
    survey, questions = result.survey, list(result.questions)
    if survey is None:  # planned before this event, if at all
        survey = Survey.objects.filter(ticket=ticket).first()
        questions = list(survey.invitations.all()) if survey is not None else []
    if survey is not None:
        # In UTC, as stored, whichever time zone the event's times came in.
        send_after = survey.send_after.astimezone(UTC)
        state = {"state": survey.state, "send_after": send_after, "reason": survey.reason}
        body["survey"] = {"id": survey.pk, **state}
        body["invitations"] = [
            {"kind": i.kind, **state} for i in sorted(questions, key=lambda i: i.kind)
        ]
    return ApiResponse(
        body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    )


class ReasonSerializer(serializers.ModelSerializer):
    """A reason ticked with a low answer: its code and English label (machines read
    these; they are never translated)."""

    class Meta:
        model = Reason
        fields = ["code", "label"]


class ResponseSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="invitation.survey.ticket.external_id")
    source = serializers.CharField(source="invitation.survey.ticket.source")
    kind = serializers.CharField(source="invitation.kind")
    scale_points = serializers.IntegerField(source="invitation.scale_points")
    agent = serializers.EmailField(source="invitation.survey.agent.email", default=None)
    team = serializers.CharField(source="invitation.survey.team.name", default=None)
    channel = serializers.CharField(source="invitation.survey.channel")
    category = serializers.CharField(source="invitation.survey.category")
    customer_locale = serializers.CharField(source="invitation.survey.customer.locale")
    sent_at = serializers.DateTimeField(source="invitation.survey.sent_at")
    survey = serializers.IntegerField(source="invitation.survey_id")
    reasons = ReasonSerializer(many=True, read_only=True)
    embedded = serializers.CharField(
        source="invitation.survey.embedded",
        help_text='Rated from buttons in the helpdesk\'s own email: "signed" (the link '
        'carried the ticket\'s token), "unsigned" (only its ticket id); "" from '
        "Kundpuls's own email.",
    )

    class Meta:
        model = Response
        fields = [
            "id",
            "survey",
            "ticket",
            "source",
            "kind",
            "raw_score",
            "score",
            "scale_points",
            "comment",
            "reasons",
            "agent",
            "team",
            "channel",
            "category",
            "customer_locale",
            "sent_at",
            "answered_at",
            "updated_at",
            "embedded",
        ]

    @classmethod
    def values(cls, responses: QuerySet[Response]) -> QuerySet[Response, dict[str, Any]]:
        """The answers as plain values of this serializer's fields, for `represented`:
        for a list, a field-by-field walk over related objects costs more than the
        query."""
        return responses.values(*(path for _name, path, _field in cls._columns()))

    @classmethod
    def represented(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of `values` as `ResponseSerializer(responses, many=True).data` shows them;
        their reasons are read with one more query."""
        columns = cls._columns()
        given = reasons_by_response(row["id"] for row in rows)
        names = list(cls().fields)
        shown = []
        for row in rows:
            values = {
                name: None if row[path] is None else field.to_representation(row[path])
                for name, path, field in columns
            }
            reasons = [{"code": r.code, "label": r.label} for r in given.get(row["id"], [])]
            shown.append({name: reasons if name == "reasons" else values[name] for name in names})
        return shown

    @classmethod
    def _columns(cls) -> list[tuple[str, str, serializers.Field]]:
        """The fields read with `values` (the reasons are a list: read apart)."""
        fields = cls().fields
        return [
            (name, name if field.source == "*" else field.source.replace(".", "__"), field)
            for name, field in fields.items()
            if name != "reasons"
        ]
