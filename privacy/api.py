"""Erasure and export over the API, for an admin key only:
POST /api/v1/customers/erase and GET /api/v1/customers/export?email=."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys.api import InternationalEmailField

from .audit import audit_record
from .erasure import customer_erase_audited
from .export import customer_export
from .models import AuditEvent


class AdminKey(permissions.BasePermission):
    message = "This needs an admin API key (manage.py createapitoken --admin)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.auth, "admin", False))


class CustomerAddressSerializer(serializers.Serializer):
    email = InternationalEmailField(max_length=254)


@api_view(["POST"])
@permission_classes([permissions.IsAuthenticated, AdminKey])
def customer_erase_view(request: Request) -> ApiResponse:
    """Erase the customer with this address and every trace of it; the counts of rows
    erased. Safe to repeat: a second call erases nothing more."""
    body = CustomerAddressSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    erasure = customer_erase_audited(
        email=body.validated_data["email"], actor=f"API key {request.auth.name}", via="api"
    )
    return ApiResponse({"erased": len(erasure.customer_ids), "rows": dict(erasure.counts)})


@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, AdminKey])
def customer_export_view(request: Request) -> ApiResponse:
    """Everything stored about the customer with this address, as JSON."""
    query = CustomerAddressSerializer(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    data = customer_export(email=query.validated_data["email"])
    if data is None:
        raise NotFound("No customer has this address.")
    audit_record(
        action=AuditEvent.Action.EXPORTED,
        actor=f"API key {request.auth.name}",
        via="api",
        customer_id=data["customer"]["id"],
        detail={"tickets": len(data["tickets"])},
    )
    return ApiResponse(data)
