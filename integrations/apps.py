from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking

        # Connect the signals that turn saved answers and cases into webhook events,
        # and answers into write-backs.
        from . import outbound, writeback  # noqa: F401
        from .provider_events import tracking_received

        # The email provider's delivery, bounce and complaint events.
        tracking.connect(tracking_received, dispatch_uid="surveys_provider_events")
