"""Kundpuls's URLs and the floor's (bench/floor.py), for bench/customer_path.py."""

from django.urls import path

from config.urls import urlpatterns as kundpuls

from . import floor

urlpatterns = [
    path("floor/answer/", floor.answer),
    path("floor/page/<int:pk>/", floor.page),
    path("floor/event/", floor.event),
    *kundpuls,
]
