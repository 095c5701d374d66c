"""Kundpuls settings, read from the environment (see README, "Configuration")."""

import os
import urllib.parse
from pathlib import Path

import bootstrap_wrapper
import environ
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless set: a server started without settings shows no tracebacks. `manage.py
# up` and `manage.py runtests` set DEBUG=1 for themselves (manage.py).
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
if not DEBUG and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of 50+ characters when DEBUG is off "
        "(the default), e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'; "
        "on a development machine, set DEBUG=1 instead"
    )
# The key of the hash kept of an erased customer's address when they must not be
# mailed again (surveys.addresses.address_hash). Changing it forgets those addresses.
PRIVACY_HASH_KEY = env.str("PRIVACY_HASH_KEY", default=SECRET_KEY)

SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "csp",
    # The product, from the core up: each app imports only those above it here.
    "surveys",
    "followups",
    "integrations",
    "metrics",
    "privacy",
    "operations",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.NoncedCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the two above: a staff member's chosen language over the browser's.
    "followups.middleware.StaffLanguage",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "integrations.middleware.ProviderWebhookGuard",
    "config.middleware.StaffNoStore",
]

# One Content-Security-Policy for every page (django-csp): scripts only from this server
# (no inline script anywhere), styles from this server or inline with the response's
# nonce (`request.csp_nonce` in templates), nothing from other hosts, no framing.
# A view that needs less sets its own header (the logo, an outbox email's HTML part).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:"],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "base-uri": [csp.NONE],
        "object-src": [csp.NONE],
    },
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "operations.context_processors.health_banner",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: an SQLite file by default, PostgreSQL in production (DATABASE_URL).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write to one file: wait for locks instead of failing,
    # and let readers go on while one process writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The customer's path's hand-written statements (surveys/sql.py) are bound on the
    # server and prepared from their second run on a connection, so PostgreSQL plans
    # each once instead of on every request. Django's own statements are bound by the
    # client, as by default, and never prepared. Set DATABASE_PREPARED_STATEMENTS=0
    # behind a pooler in transaction mode without prepared statements (PgBouncer
    # before 1.21).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: the Celery broker and the cache. It carries only work that a database
# sweep re-creates, so the cache never raises when Redis is away. The cache lives in
# a database of its own (CACHE_URL, by default the broker's next database number), so
# clearing or evicting the cache never touches queued work; see README, "Redis in
# production" (it must run with maxmemory-policy noeviction).
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")


def _next_database(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    number = parts.path.strip("/")
    following = int(number) + 1 if number.isdigit() else 1
    return urllib.parse.urlunsplit(parts._replace(path=f"/{following}"))


CACHE_URL = env.str("CACHE_URL", default="") or _next_database(REDIS_URL)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "kundpuls",
        "OPTIONS": {
            # The cache and the rate limits fail open, and quickly: a hung Redis costs
            # a request at most a quarter of a second per cache call.
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.25,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
# Kundpuls' own queue and key prefix: a Redis shared with another application (or
# another Kundpuls) never hands its work to our workers, nor ours to theirs.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="kundpuls")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that queues work must not hang when Redis is away or hung (a full
# disk, a partition, a long fork): fail fast (the beat sweeps re-create the work),
# rather than retry the connection or wait on a socket; surveys.queue then stops
# trying for a few seconds, so at most one request waits that second.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": "kundpuls:",
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A group with fewer answers than this is marked as having few answers in the reports
# and never ranked first or last on its score alone (METRICS.md).
FEW_ANSWERS = env.int("FEW_ANSWERS", default=10)
# How often beat queues the sweeps (config/celery.py reads the same variable).
SURVEY_SWEEP_SECONDS = env.float("SURVEY_SWEEP_SECONDS", default=30.0)
# How often beat has the link fetches judged (person or mail scanner): a survey page
# view only stores its fetch.
CLICKS_SWEEP_SECONDS = env.float("CLICKS_SWEEP_SECONDS", default=5.0)
# A sweep queues a due row once; only after this long (its message taken as lost, e.g.
# a Redis restart emptied the queue) does it queue it again. Below the 15-minute
# rescue of sends stuck in `sending`, so a rescued send is queued at once.
SWEEP_REQUEUE_SECONDS = env.int("SWEEP_REQUEUE_SECONDS", default=600)
# The health page: how long a Celery worker may take to answer a ping.
HEALTH_WORKER_SECONDS = env.float("HEALTH_WORKER_SECONDS", default=2.0)
CELERY_TIMEZONE = "UTC"
# Celery's Django support closes the worker's database connection before and after
# every task unless told to reuse it, and a new PostgreSQL backend costs more than most
# tasks. It now closes them only every this many tasks; in between, the worker keeps
# them for CONN_MAX_AGE and checks them before use, as the web does (config/celery.py).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Beat runs its schedule only while it holds a database lease: a second beat process
# waits, and takes over within a minute when the first stops (operations/beat.py).
CELERY_BEAT_SCHEDULER = "operations.beat:LeasedScheduler"
BEAT_LEASE_SECONDS = env.float("BEAT_LEASE_SECONDS", default=60.0)

# Email: EMAIL_URL is smtp://user:pass@host:port (smtp+tls://, smtps://), console:,
# file:///path, or outbox: (kept in the database, shown at /dev/outbox/).
EMAIL_URL = env.str("EMAIL_URL", default="outbox:")
# The outbox keeps emails (survey links included) in the database and sends none: with
# DEBUG off a system check refuses it (kundpuls.E001) unless this says it is meant.
EMAIL_OUTBOX_ALLOWED = env.bool("EMAIL_OUTBOX_ALLOWED", default=False)
if EMAIL_URL.startswith("outbox:"):
    EMAIL_BACKEND = "surveys.outbox.OutboxBackend"
elif EMAIL_URL.startswith("console:"):
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif EMAIL_URL.startswith("file:"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = EMAIL_URL.removeprefix("file://") or str(BASE_DIR / "var" / "mail")
else:
    vars().update(env.email_url_config(EMAIL_URL.replace("smtp+tls://", "submission://")))
    # Django's, also for addresses with a non-ASCII local part (SMTPUTF8).
    EMAIL_BACKEND = "surveys.mail.SMTPBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# Or an email provider's API through django-anymail (README, "Email providers"):
# EMAIL_PROVIDER=postmark|sendgrid|mailgun|amazon_ses|... and that provider's keys,
# as environment variables named after it (POSTMARK_SERVER_TOKEN, MAILGUN_API_KEY...).
# Its tracking webhook marks survey emails delivered, bounced or complained.
EMAIL_PROVIDERS = [
    "amazon_ses",
    "brevo",
    "mailersend",
    "mailgun",
    "mailjet",
    "mailtrap",
    "mandrill",
    "postal",
    "postmark",
    "resend",
    "sendgrid",
    "sparkpost",
    "unisender_go",
]
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="").strip().lower()
ANYMAIL = {"WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default="")}
if EMAIL_PROVIDER:
    if EMAIL_PROVIDER not in EMAIL_PROVIDERS:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={EMAIL_PROVIDER!r} is not one of {', '.join(EMAIL_PROVIDERS)} "
            "(leave it unset to send through EMAIL_URL)."
        )
    if not ANYMAIL["WEBHOOK_SECRET"]:
        raise ImproperlyConfigured(
            "ANYMAIL_WEBHOOK_SECRET must be set with EMAIL_PROVIDER: a user:password pair "
            "the provider sends to the tracking webhook, e.g. kundpuls:<random letters>."
        )
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
    _prefix = EMAIL_PROVIDER.upper() + "_"
    ANYMAIL.update({k: v for k, v in os.environ.items() if k.startswith(_prefix)})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kundpuls <surveys@kundpuls.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Surveys
SURVEY_SEND_DELAY = env.int("SURVEY_SEND_DELAY", default=3600)
# Follow-ups: the local hour (0-23) from which each owner's daily digest goes out.
FOLLOWUP_DIGEST_HOUR = env.int("FOLLOWUP_DIGEST_HOUR", default=7)
if not 0 <= FOLLOWUP_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("FOLLOWUP_DIGEST_HOUR is a local hour, 0 to 23.")
# Outbound webhooks go only to public addresses unless this is set (a lab or test setup).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# An unsubscribe link changes nothing after this many days (an old forwarded email);
# its page offers the customer a fresh link by email.
UNSUBSCRIBE_LINK_DAYS = env.int("UNSUBSCRIBE_LINK_DAYS", default=90)
# Requests per minute with an unknown or tampered survey, unsubscribe or recovery
# link that one address may make (guessing); the pages of a valid link never count.
SURVEY_RATE_LIMIT = env.str("SURVEY_RATE_LIMIT", default="30/m")
# An answer sent sooner than this many seconds after its page was served is held for
# review: left out of the scores until an admin approves it (its case opens at once).
SURVEY_MIN_ANSWER_SECONDS = env.float("SURVEY_MIN_ANSWER_SECONDS", default=2.0)
# The score a rating link's click sends by itself (the page's script, after about a
# second on screen) is held for review when it comes sooner after the page was served.
SURVEY_MIN_CLICK_SECONDS = env.float("SURVEY_MIN_CLICK_SECONDS", default=0.8)
# How long each process keeps the survey policy and question texts it read (see
# surveys.models.SetupCache): an admin's change reaches every process within this.
SURVEY_SETUP_CACHE_SECONDS = env.float("SURVEY_SETUP_CACHE_SECONDS", default=5.0)
# How many reverse proxies stand in front of Kundpuls (their X-Forwarded-For entries
# are skipped to find the customer's own address for rate limiting).
SURVEY_TRUSTED_PROXIES = env.int("SURVEY_TRUSTED_PROXIES", default=0)
# Helpdesk webhooks: secrets set in the admin (Helpdesk connections) win over these.
ZENDESK_WEBHOOK_SECRET = env.str("ZENDESK_WEBHOOK_SECRET", default="")
FRESHDESK_WEBHOOK_TOKEN = env.str("FRESHDESK_WEBHOOK_TOKEN", default="")
HUBSPOT_CLIENT_SECRET = env.str("HUBSPOT_CLIENT_SECRET", default="")
HUBSPOT_ACCESS_TOKEN = env.str("HUBSPOT_ACCESS_TOKEN", default="")
HELPSCOUT_WEBHOOK_SECRET = env.str("HELPSCOUT_WEBHOOK_SECRET", default="")
INTERCOM_CLIENT_SECRET = env.str("INTERCOM_CLIENT_SECRET", default="")
HUBSPOT_API_BASE = env.str("HUBSPOT_API_BASE", default="https://api.hubapi.com")
# Where the ticket metrics are read when a connection has an API token; empty: the
# account's own (https://<account>.zendesk.com, the ticket URL's host for Freshdesk).
ZENDESK_API_BASE = env.str("ZENDESK_API_BASE", default="")
FRESHDESK_API_BASE = env.str("FRESHDESK_API_BASE", default="")
# Pipeline stages (ids) that count as solved; "4" is Closed in the default pipeline.
HUBSPOT_CLOSED_STAGES = env.list("HUBSPOT_CLOSED_STAGES", default=["4"])
# Seconds a signed webhook stays valid: older (replayed) deliveries are refused.
HELPDESK_WEBHOOK_TOLERANCE = env.int("HELPDESK_WEBHOOK_TOLERANCE", default=300)
if SURVEY_SEND_DELAY < 0:
    raise ImproperlyConfigured("SURVEY_SEND_DELAY is seconds from solved to sent, 0 or more.")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# One sign-in page for agents and admins (the admin login turns non-staff away).
LOGIN_URL = "followups:login"

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("sv", _("Swedish")),
    ("nb", _("Norwegian Bokmål")),
    ("da", _("Danish")),
    ("fi", _("Finnish")),
    ("fy", _("West Frisian")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", bootstrap_wrapper.get_bootstrap_dir()),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "config.storage.StaticStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["surveys.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bad, too deeply nested or NUL-carrying JSON is a 400 (surveys/untrusted.py).
    "DEFAULT_PARSER_CLASSES": ["surveys.untrusted.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema at /api/schema/; its docs page takes Swagger UI from the
# drf-spectacular-sidecar package, so it loads nothing from the internet.
SPECTACULAR_SETTINGS = {
    "TITLE": "Kundpuls API",
    "DESCRIPTION": "Ticket ingestion, responses, metrics and follow-ups. Authenticate with "
    "`Authorization: Bearer <key>` (manage.py createapitoken). Errors are JSON objects "
    'with a "detail" message, or field names mapped to lists of messages (400).',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The API reads JSON bodies; documenting form encodings would invite clients to
    # send nested objects the form parsers cannot carry.
    "PARSER_WHITELIST": ["surveys.untrusted.JSONParser"],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "surveys.models.Ticket.Status",
        "FollowUpStatusEnum": "followups.models.FollowUp.Status",
        "WebhookFormatEnum": "integrations.models.WebhookSubscription.Format",
    },
}

# Production hardening: `manage.py check --deploy` passes with DEBUG=0.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Every log line goes to the console with survey, recovery and unsubscribe link
# tokens replaced (they are credentials); Django's own request loggers go there too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No link token and no email address is written to the logs.
    "filters": {
        "links_redacted": {"()": "surveys.pages.RedactLinks"},
        "addresses_redacted": {"()": "privacy.logs.RedactAddresses"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["links_redacted", "addresses_redacted"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
