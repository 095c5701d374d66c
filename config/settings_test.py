"""Settings for the test suite: eager Celery and the locmem mail backend by default.

The integration tests override these for the processes they start (real Redis,
worker, beat, SMTP server).
"""

import os

os.environ.setdefault("SURVEY_SEND_DELAY", "3600")
# As on a development machine (manage.py runtests sets it too); the tests of the
# production defaults start manage.py with DEBUG=0 or without it.
os.environ.setdefault("DEBUG", "1")

from .settings import *  # noqa: F403
from .settings import DATABASES

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SITE_URL = "http://testserver"
# The webhook receivers in the tests listen on loopback.
WEBHOOK_ALLOW_PRIVATE_URLS = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the processes an integration test starts share it
    # (they read its name from the connection settings); one per test run.
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")  # noqa: F405
    }
