"""System checks: the email backend a production server may use, and (manage.py check
--deploy) what Kundpuls needs of Redis."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.caches, deploy=True)
def redis_keeps_queued_work(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Redis must not evict keys: with any other maxmemory-policy a full Redis drops
    queued work and rate-limit counts (README, "Redis in production")."""
    import redis

    url = settings.CELERY_BROKER_URL
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy", "")
    except redis.ResponseError:
        return [
            Warning(
                "Could not read Redis's maxmemory-policy (CONFIG is not allowed there).",
                hint='Make sure it is noeviction; see README, "Redis in production".',
                id="kundpuls.W002",
            )
        ]
    except (redis.RedisError, OSError) as exc:
        return [
            Warning(
                f"Redis does not answer at the broker URL: {exc}",
                hint="Start Redis, or set REDIS_URL.",
                id="kundpuls.W003",
            )
        ]
    if policy != "noeviction":
        return [
            Warning(
                f"Redis runs with maxmemory-policy {policy}: when it is full it evicts "
                "keys, queued work and rate-limit counts among them.",
                hint="Set maxmemory-policy noeviction (redis.conf or CONFIG SET); see "
                'README, "Redis in production".',
                id="kundpuls.W001",
            )
        ]
    return []


@register()
def outbox_only_in_development(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The outbox (EMAIL_URL=outbox:, the default) sends nothing and keeps every email,
    survey links included, in the database: fine on a development machine, a silent
    loss in production."""
    outbox = settings.EMAIL_BACKEND == "surveys.outbox.OutboxBackend"
    if settings.DEBUG or not outbox or settings.EMAIL_OUTBOX_ALLOWED:
        return []
    return [
        Error(
            "EMAIL_URL is outbox: with DEBUG off: no email would be sent, and every one "
            "(survey links included) would be kept in the database.",
            hint="Set EMAIL_URL to your SMTP server (smtp://user:pass@host:587) or "
            "EMAIL_PROVIDER; set EMAIL_OUTBOX_ALLOWED=1 if the outbox is really meant.",
            id="kundpuls.E001",
        )
    ]
