"""CI runs against real PostgreSQL and Redis: when they are required, their absence fails."""

import os

import pytest
from django.conf import settings
from django.db import connection

REQUIRED = os.environ.get("CADENCE_REQUIRE_SERVICES") == "1"


@pytest.mark.skipif(not REQUIRED, reason="services are only required under .ci/run")
def test_ci_runs_on_postgresql(db):
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.skipif(not REQUIRED, reason="services are only required under .ci/run")
def test_ci_reaches_redis():
    import redis

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=5).ping() is True
