"""The health page for admins and GET /healthz for a load balancer or a monitor."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .services import health_checks


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, else 503; the JSON body says which failed and
    why. ?live=0 checks only what this web process needs to serve pages (the
    database), for a load balancer's liveness probe."""
    checks = health_checks(web_only=request.GET.get("live") == "0")
    ok = all(check.ok for check in checks)
    body = {"status": "ok" if ok else "problem", "checks": {c.name: c.as_json() for c in checks}}
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@staff_member_required
def health(request: HttpRequest) -> HttpResponse:
    checks = health_checks()
    context = {"checks": checks, "ok": all(c.ok for c in checks), "nav": "health"}
    return render(request, "operations/health.html", context)
