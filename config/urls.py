from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import schema  # noqa: F401  (registers the API's schema annotations)
from followups import api as followups_api
from integrations import outbound
from metrics import api as metrics_api
from privacy import api as privacy_api
from surveys import api as surveys_api


def home(request: HttpRequest) -> HttpResponse:
    """Everyone lands where their role works: admins on the reports, team leads on their
    team's scores, agents on their follow-up inbox."""
    user = request.user
    if user.is_authenticated and user.is_staff:
        return redirect("metrics:dashboard")
    if user.is_authenticated and user.led_teams.exists():
        return redirect("metrics:scores")
    return redirect("followups:inbox")


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """API clients get JSON, like every other API error, not the HTML 404 page."""
    return JsonResponse({"detail": "Not found."}, status=404)


api_v1 = [
    path("tickets", surveys_api.tickets, name="tickets"),
    path("responses", metrics_api.responses, name="responses"),
    path("metrics", metrics_api.metrics, name="metrics"),
    path("followups", followups_api.followups, name="followups"),
    path("webhooks", outbound.subscriptions, name="webhooks"),
    path("customers/erase", privacy_api.customer_erase_view, name="customer_erase"),
    path("customers/export", privacy_api.customer_export_view, name="customer_export"),
]

urlpatterns = [
    path("", home, name="home"),
    # Before the integrations' setup/<provider>/ pages: setup/health/ is the health page.
    path("", include("operations.urls")),
    path("admin/", admin.site.urls),
    # Email providers' tracking webhooks: anymail/<provider>/tracking/ (see
    # integrations/provider_events.py; events are ignored unless EMAIL_PROVIDER names it).
    path("anymail/", include("anymail.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api_docs"),
    path("", include("surveys.urls")),
    path("", include("followups.urls")),
    path("", include("integrations.urls")),
    path("", include("metrics.urls")),
    re_path(r"^api/", api_not_found),
]

handler404 = "surveys.views.page_not_found"
handler403 = "followups.views.forbidden"
