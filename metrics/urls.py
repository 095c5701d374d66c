from django.urls import path

from . import views

app_name = "metrics"

urlpatterns = [
    path("followups/<int:pk>/", views.followup_detail, name="followup_detail"),
]
