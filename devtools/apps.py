from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Commands for a developer's or evaluator's machine: up, runtests, demo_data,
    screenshots. Nothing in the product imports this app."""

    name = "devtools"
    default_auto_field = "django.db.models.BigAutoField"
