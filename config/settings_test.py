"""Settings for the test suite: eager Celery and the locmem mail backend by default.

The integration tests override these for the processes they start (real Redis,
worker, beat, SMTP server).
"""

import os

os.environ.setdefault("SURVEY_SEND_DELAY", "3600")

from .settings import *  # noqa: F403
from .settings import DATABASES

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SITE_URL = "http://testserver"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the processes an integration test starts share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}  # noqa: F405
