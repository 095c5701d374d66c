from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from metrics import api as metrics_api
from surveys import api as surveys_api


def home(request: HttpRequest) -> HttpResponse:
    return redirect("admin:index")


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


api_v1 = [
    path("tickets", surveys_api.tickets, name="tickets"),
    path("responses", surveys_api.responses, name="responses"),
    path("metrics", metrics_api.metrics, name="metrics"),
    path("followups", metrics_api.followups, name="followups"),
]

urlpatterns = [
    path("", home, name="home"),
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("", include("surveys.urls")),
    path("", include("metrics.urls")),
]

handler404 = "surveys.views.page_not_found"
