"""Redis used safely: the deployment check warns when Redis may evict queued work, the
cache lives apart from the broker, and Kundpuls' queue and keys carry its name."""

from __future__ import annotations

import pytest
import redis
from django.core.checks import run_checks

from .conftest import RedisServer

pytestmark = [pytest.mark.integration]


def deploy_check_ids() -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("kundpuls")}


def test_the_deploy_check_warns_when_redis_may_evict_queued_work(
    redis_server: RedisServer, settings
) -> None:
    settings.CELERY_BROKER_URL = redis_server.url
    client = redis.Redis.from_url(redis_server.url)

    client.config_set("maxmemory-policy", "allkeys-lru")
    evicting = deploy_check_ids()
    client.config_set("maxmemory-policy", "noeviction")
    safe = deploy_check_ids()

    assert "kundpuls.W001" in evicting
    assert "kundpuls.W001" not in safe


def test_the_cache_and_the_queue_are_kundpuls_own(settings) -> None:
    from config.settings import _next_database

    assert _next_database("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/1"
    assert _next_database("redis://:pw@redis.internal:6380") == "redis://:pw@redis.internal:6380/1"
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "kundpuls"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] == "kundpuls:"
