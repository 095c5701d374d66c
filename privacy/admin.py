"""In the admin: erase or export a customer (an action, a form that takes an address,
a button on the customer's page), the retention policy, and the audit trail."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from surveys.addresses import validate_address
from surveys.admin import CustomerAdmin
from surveys.models import Customer

from .audit import audit_record, staff_actor
from .erasure import Erasure, customer_erase_audited
from .export import customer_export
from .models import AuditEvent, RetentionPolicy


class EraseForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("Email address"), max_length=254, validators=[validate_address]
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that this cannot be undone"), required=True
    )


class PrivacyCustomerAdmin(CustomerAdmin):
    actions = [*CustomerAdmin.actions, "erase_selected"]
    readonly_fields = [*CustomerAdmin.readonly_fields, "erased_at"]
    list_filter = [*CustomerAdmin.list_filter, ("erased_at", admin.EmptyFieldListFilter)]

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "erase/",
                self.admin_site.admin_view(self.erase_view),
                name="surveys_customer_erase",
            ),
            path(
                "<int:pk>/export/",
                self.admin_site.admin_view(self.export_view),
                name="surveys_customer_export",
            ),
        ]
        return own + super().get_urls()

    def _erase(self, request: HttpRequest, email: str) -> Erasure:
        return customer_erase_audited(
            email=email, actor=staff_actor(request.user), via="admin", user=request.user
        )

    @admin.action(
        description=gettext_lazy("Erase these customers' personal data"), permissions=["delete"]
    )
    def erase_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        customers = list(queryset.filter(erased_at__isnull=True))
        if request.POST.get("confirmed") != "yes":
            return render(
                request,
                "admin/privacy/erase_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Erase customers' personal data?"),
                    "customers": customers,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        erased = sum(len(self._erase(request, c.email).customer_ids) for c in customers)
        self.message_user(
            request,
            ngettext(
                "%(count)d customer erased: their scores stay in the reports.",
                "%(count)d customers erased: their scores stay in the reports.",
                erased,
            )
            % {"count": erased},
            messages.SUCCESS,
        )
        return None

    def erase_view(self, request: HttpRequest) -> HttpResponse:
        """Erase by address: also for a person who is not (or no longer) a customer,
        whose address may still be in messages and payloads."""
        if not self.has_delete_permission(request):
            return HttpResponse(status=403)
        form = EraseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            erasure = self._erase(request, form.cleaned_data["email"])
            self.message_user(
                request,
                _("Erased: %(rows)d rows changed or deleted.") % {"rows": erasure.counts.total()}
                if erasure.customer_ids
                else _(
                    "No customer has this address; any message or payload naming it was erased."
                ),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:surveys_customer_changelist"))
        return render(
            request,
            "admin/privacy/erase_form.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Erase a customer's personal data"),
                "form": form,
                "opts": self.model._meta,
            },
        )

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=pk, erased_at__isnull=True)
        if not self.has_view_permission(request, customer):
            return HttpResponse(status=403)
        data = customer_export(email=customer.email)
        audit_record(
            action=AuditEvent.Action.EXPORTED,
            actor=staff_actor(request.user),
            user=request.user,
            via="admin",
            customer_id=customer.pk,
            detail={"tickets": len(data["tickets"]) if data else 0},
        )
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="customer-{customer.pk}-{timezone.localdate():%Y-%m-%d}.json"'
        )
        return response


admin.site.unregister(Customer)
admin.site.register(Customer, PrivacyCustomerAdmin)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    """One policy: the list opens it, it cannot be added twice or deleted."""

    fields = ["comments_months", "clicks_days", "payloads_days", "tickets_years"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        policy = RetentionPolicy.load()
        return HttpResponseRedirect(
            reverse("admin:privacy_retentionpolicy_change", args=[policy.pk])
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        if form.changed_data:
            audit_record(
                action=AuditEvent.Action.RETENTION_CHANGED,
                actor=staff_actor(request.user),
                user=request.user,
                via="admin",
                detail={name: form.cleaned_data[name] for name in form.changed_data},
            )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: the trail is written by what it records, never edited."""

    list_display = ["at", "action", "actor", "via", "customer_id", "detail"]
    list_filter = ["action", "via"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
