"""Kundpuls's settings, with the floor views of bench/customer_path.py beside its own."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
