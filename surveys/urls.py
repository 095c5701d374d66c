from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("s/<str:token>/", views.survey, name="survey"),
    path("s/<str:token>/thanks/", views.thanks, name="thanks"),
    path("s/<str:token>/click/", views.survey_click, name="click"),
    path("s/<str:token>/h/", views.honeypot, name="honeypot"),
    path("e/<str:source>/<str:external_id>/", views.embedded, name="embedded"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("brand/logo/<str:version>/", views.logo, name="logo"),
    path("dev/outbox/", views.outbox, name="outbox"),
    path("dev/outbox/<int:pk>/", views.outbox_message, name="outbox_message"),
]
