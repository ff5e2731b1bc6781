"""Cadence settings: everything that differs between machines comes from the environment.

The defaults make a development machine work with nothing but Python (SQLite and kombu's
filesystem broker under var/). Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL and CELERY_BROKER_URL; `manage.py check --deploy` is clean then.
"""

import hashlib
import hmac
import os
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from stdnum.eu import at_02 as creditor_identifier

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("CADENCE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file and broker live here
# The development defaults that `make setup` writes (DEBUG=true): manage.py run by hand, as the
# README shows it, then works as under make. Variables set in the environment win, and a
# server never has the file (it is not in the repository; `make clean` removes it).
env.read_defaults(VAR_DIR / ".env")

DEBUG = env.boolean("DEBUG", False)

SECRET_KEY = env.string("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Environment variable SECRET_KEY is not set: it is required when DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    # Development only: a fixed key so sessions survive restarts of `make run`.
    SECRET_KEY = "dev-only-insecure-key-cadence-do-not-use-in-production-0123456789"

# Where `make run` serves the pages (Procfile, `make serve`); seed_demo prints its URLs.
WEB_HOST = env.string("WEB_HOST", "127.0.0.1")
WEB_PORT = env.integer("WEB_PORT", 8000, minimum=1)

ALLOWED_HOSTS = env.string_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.string_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "djmoney",
    "simple_history",
    "django_celery_beat",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "core",
    "core.db",
    "catalog",
    "subscriptions",
    "billing",
    "payments",
    "partners",
    "integrations",
    "reports",
    "storefront",
    "demo",  # manage.py seed_demo
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change in the audit history.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Brute-force protection of logins; last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cadence.sqlite3'}")}
DATABASE_CONN_MAX_AGE = env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, whose flush may empty the invoice tables (core/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "core.db.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file under `make run`: wait for locks instead of failing,
    # take the write lock at BEGIN (no upgrade deadlocks), and let readers run beside a writer.
    # SQLite's busy handler is not fair: a worker committing the demo's e-invoices one after the
    # other (20 s and more on a loaded machine) kept beat waiting past a 20 s timeout at start.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 60,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = DATABASE_CONN_MAX_AGE
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Authentication -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out attempts before checking
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes: after AXES_FAILURE_LIMIT failed logins for one account from one address, that
# pair is locked out for AXES_COOLOFF_HOURS.
AXES_FAILURE_LIMIT = env.integer("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env.integer("AXES_COOLOFF_HOURS", 1, minimum=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"  # the portal's page, not a bare text
# Behind N reverse proxies that append to X-Forwarded-For, the lockout reads the client's address
# there (core/web/client_ip.py); 0: the connection's address, the header ignored.
TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "core.web.client_ip.client_ip"
SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)

# Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # timestamps are stored and handled in UTC
# Business dates (period boundaries, due dates) are calendar dates in this zone.
BILLING_TIME_ZONE = env.time_zone("BILLING_TIME_ZONE", "Europe/Paris")
# The currencies Cadence sells in are part of the schema (the currency columns' choices): adding
# one is a code change with its migration, not an environment variable.
CURRENCIES = ["EUR", "CAD", "USD", "GBP", "CHF"]
DEFAULT_CURRENCY = env.choice("DEFAULT_CURRENCY", "EUR", CURRENCIES)

# Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env.string("MEDIA_ROOT", str(VAR_DIR / "media")))

# Email ----------------------------------------------------------------------------------------
vars().update(env.email("EMAIL_URL", "consolemail://" if DEBUG else "smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Cadence <billing@localhost>")
SERVER_EMAIL = env.string("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Celery ---------------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.string("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # No broker server in development: messages are files under var/broker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Broadcasts (worker remote control) default to ./control in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A message taken by a worker that dies (kill -9, a lost machine) comes back after this
    # many seconds (kombu's default is an hour). It must outlast the longest task — a billing
    # chunk takes seconds — and stays short so the day's run finishes on the day; billing.sweep
    # re-queues what is still due meanwhile (and a chunk delivered twice bills nothing twice).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.integer("BROKER_VISIBILITY_TIMEOUT", 600, minimum=10)
    }
if not CELERY_BROKER_URL.startswith(
    ("filesystem://", "redis://", "rediss://", "memory://", "amqp://")
):
    raise ImproperlyConfigured(
        f"Environment variable CELERY_BROKER_URL={CELERY_BROKER_URL!r} is invalid: expected a "
        "redis://host:6379/0 URL, or filesystem:// for the embedded default."
    )
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is redelivered: every task is idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker process is replaced after a task leaves it above this many kB: making PDFs grows
# WeasyPrint's and fontTools' caches without bound (2.4 GB after 10,000 e-invoices).
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.integer(
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD", 512_000, minimum=100_000
)
# Worker processes (0: one per core). SQLite takes one writer at a time and its busy
# handler is not fair: under `make run`, a second process committing e-invoices one after the
# other starved a billing chunk past its lock timeout ("database is locked"). One process there;
# a task waits its turn instead of failing.
CELERY_WORKER_CONCURRENCY = env.integer(
    "CELERY_WORKER_CONCURRENCY",
    1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 0,
    minimum=0,
)
CELERY_TIMEZONE = BILLING_TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The beat schedule is code, reviewed like code. Tasks are added by the apps that own them.
CELERY_TASK_ROUTES = {"billing.run_chunk": {"queue": "billing"}}
BILLING_RUN_HOUR = env.integer("BILLING_RUN_HOUR", 2, minimum=0)
if BILLING_RUN_HOUR > 23:
    raise ImproperlyConfigured(
        f"Environment variable BILLING_RUN_HOUR={BILLING_RUN_HOUR} is invalid: expected 0 to 23."
    )
# Usage events (billing-rules §12): an event received up to this many hours after its billing
# period ended still counts in it; later, in the next. A period's usage is invoiced once its
# window closed, so keep it below BILLING_RUN_HOUR to bill usage on the period-start invoice.
USAGE_GRACE_HOURS = env.integer("USAGE_GRACE_HOURS", 1, minimum=0)
if USAGE_GRACE_HOURS > 72:
    raise ImproperlyConfigured(
        f"Environment variable USAGE_GRACE_HOURS={USAGE_GRACE_HOURS} is invalid: expected 0 to 72."
    )
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Renewals, trial ends, period starts and invoicing, fanned out in chunks (billing queue);
    # it also triggers overdue reminders, notice reminders and coupon expiry for the day.
    "billing-daily": {
        "task": "billing.daily",
        "schedule": crontab(minute=0, hour=BILLING_RUN_HOUR),
    },
    # What is still due after the run (a killed worker's chunk) is queued again, twice.
    "billing-sweep": {
        "task": "billing.sweep",
        "schedule": crontab(minute=30, hour=f"{BILLING_RUN_HOUR},{(BILLING_RUN_HOUR + 2) % 24}"),
    },
    # The outbox of invoice emails (also nudged after each run): what a dead broker or mail
    # server held back goes out here.
    "invoice-emails": {"task": "billing.emails_send", "schedule": crontab(minute="*/5")},
    # The e-invoices of issued documents still without one (also asked for after each issue).
    "einvoices": {"task": "billing.einvoices_generate", "schedule": crontab(minute="*/5")},
    # Product contracts (billing-rules §8) after the run: started and ended, issues scheduled
    # for the current and next billing period, credits granted and expired; catches up.
    "contracts-run": {
        "task": "subscriptions.contracts_run",
        "schedule": crontab(minute=15, hour=(BILLING_RUN_HOUR + 1) % 24),
    },
    # Each of these also runs alone later in the day: safe to run twice, they catch up.
    "overdue-reminders": {"task": "billing.overdue", "schedule": crontab(minute=0, hour=9)},
    "notice-reminders": {"task": "billing.notice_reminders", "schedule": crontab(minute=0, hour=8)},
    "coupon-expiry": {"task": "billing.coupon_expiry", "schedule": crontab(minute=5, hour=0)},
    # Customer credit pays the open invoices, after the run and each sweep.
    # SEPA direct debit: the open invoices of customers paying by mandate whose due date falls
    # within the pre-notification days become one pain.008 batch, after the run has issued
    # them and credit has paid what it could; the operator downloads and submits it.
    "sepa-batch": {
        "task": "payments.sepa_batch",
        "schedule": crontab(minute=0, hour=(BILLING_RUN_HOUR + 4) % 24),
    },
    # Dunning after the overdue reminders (09:00): retries, suspensions, final steps.
    "dunning": {"task": "payments.dunning", "schedule": crontab(minute=30, hour=9)},
    "customer-credit": {
        "task": "payments.credits_apply",
        "schedule": crontab(minute=45, hour=f"{BILLING_RUN_HOUR},{(BILLING_RUN_HOUR + 2) % 24}"),
    },
    # The test gateway sends again the events Cadence did not answer (a provider retries).
    "test-gateway-redeliver": {
        "task": "payments.test_gateway_redeliver",
        "schedule": crontab(minute="*"),
    },
    # MRR segments and monthly movements (reports): rebuilt whole after the night's run, then
    # kept up to date with the day's changes every 15 minutes.
    "mrr-refresh": {"task": "reports.mrr_refresh", "schedule": crontab(minute="*/15")},
    # Outgoing webhooks: new subscription and invoice events become signed deliveries.
    "webhooks-dispatch": {"task": "integrations.webhooks_dispatch", "schedule": crontab()},
    # Sign-ups whose email was never verified, and old rate-limit attempts (storefront).
    "signups-purge": {"task": "storefront.signups_purge", "schedule": crontab(minute=20)},
    "idempotency-keys-purge": {
        "task": "integrations.idempotency_keys_purge",
        "schedule": crontab(minute=30),
    },
}

# The seller printed on invoices until an operator fills in the seller profile in the admin
# (catalog.SellerProfile), which then wins: these only seed it.
SELLER_NAME = env.string("SELLER_NAME", "Cadence Demo SAS")
SELLER_ADDRESS = env.string("SELLER_ADDRESS", "10 rue de la Facture\n75001 Paris\nFrance")
SELLER_COUNTRY = env.string("SELLER_COUNTRY", "FR")
SELLER_SIREN = env.string("SELLER_SIREN", "732829320")
SELLER_VAT_NUMBER = env.string("SELLER_VAT_NUMBER", "FR44732829320")
SELLER_EMAIL = env.string("SELLER_EMAIL", "billing@cadence.example")
SELLER_PAYMENT_DETAILS = env.string(
    "SELLER_PAYMENT_DETAILS", "IBAN FR76 3000 6000 0112 3456 7890 189 — BIC AGRIFRPP"
)

# SEPA direct debit (payments): the creditor written in each pain.008 batch. The identifier is
# checked (ISO 7064 mod 97-10, python-stdnum's AT-02) and the IBAN (schwifty) at start-up.
SEPA_CREDITOR_ID = env.parsed(
    "SEPA_CREDITOR_ID",
    "FR72ZZZ123456",
    creditor_identifier.validate,
    "a SEPA creditor identifier with valid check digits, e.g. FR72ZZZ123456",
)
SEPA_CREDITOR_NAME = env.string("SEPA_CREDITOR_NAME", SELLER_NAME)
SEPA_CREDITOR_IBAN = env.parsed(
    "SEPA_CREDITOR_IBAN",
    "FR7630006000011234567890189",
    lambda value: IBAN(value).compact,
    "an IBAN with valid check digits, e.g. FR7630006000011234567890189",
)
SEPA_CREDITOR_BIC = env.parsed(
    "SEPA_CREDITOR_BIC",
    "AGRIFRPP",
    lambda value: BIC(value).compact,
    "a BIC of 8 or 11 letters and digits, e.g. AGRIFRPP",
)
# Days between the batch and the collection date: the debtor is told this long before its
# account is debited (the rulebook's 14 days; shorter only by agreement with the debtor).
SEPA_PRENOTIFICATION_DAYS = env.integer("SEPA_PRENOTIFICATION_DAYS", 14, minimum=1)

# Card payments (payments/gateways/): the provider cards are charged through. Each gateway is a
# class implementing payments.gateways.base.Gateway; a real provider plugs in with a line here
# (and its own settings). "test" is the built-in test gateway: no internet, test card numbers.
PAYMENT_GATEWAY_CLASSES = {"test": "payments.gateways.test.TestGateway"}
PAYMENT_GATEWAY = env.choice("PAYMENT_GATEWAY", "test", list(PAYMENT_GATEWAY_CLASSES))
# The test gateway signs its webhooks with this secret (HMAC-SHA256). By default it is derived
# from SECRET_KEY: unique to each installation, so nobody outside it can forge a payment.
TEST_GATEWAY_WEBHOOK_SECRET = (
    env.string("TEST_GATEWAY_WEBHOOK_SECRET", "")
    or hmac.new(SECRET_KEY.encode(), b"cadence test gateway webhooks", hashlib.sha256).hexdigest()
)
# How old (or how far ahead) a signed webhook's timestamp may be: a replay of a captured
# delivery after this is refused, as providers do (Stripe's default: 5 minutes).
GATEWAY_WEBHOOK_TOLERANCE_SECONDS = env.integer("GATEWAY_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)

# Billing --------------------------------------------------------------------------------------
INVOICE_DUE_DAYS = env.integer("INVOICE_DUE_DAYS", 30, minimum=0)
INVOICE_EMAILS = env.boolean("INVOICE_EMAILS", True)
# Ask a worker for the e-invoices (Factur-X, UBL, CII) of documents as soon as they are issued;
# off, the beat job (every five minutes) still makes them.
EINVOICES_ON_ISSUE = env.boolean("EINVOICES_ON_ISSUE", True)
# How many e-invoices one run of billing.einvoices_generate makes at most.
EINVOICES_BATCH = env.integer("EINVOICES_BATCH", 200, minimum=1)
BILLING_CHUNK_SIZE = env.integer("BILLING_CHUNK_SIZE", 1000, minimum=1)
# Entries of the price book's memo (priced states and invoices), least recently used out
# past it: a worker's memory stays flat however many distinct states it prices. Two chunks'
# worth: the states repeated across subscriptions recur within a chunk or the next, and a
# larger memo only fills with states never seen again (measured on the honest data, 10,000
# subscriptions: 124 MB at 2,000 entries against 140 MB at 20,000, the same speed).
PRICE_MEMO_SIZE = env.integer("PRICE_MEMO_SIZE", 2_000, minimum=1)
# Processes of an in-process billing run (run_billing), each billing whole chunks: the
# computing is Python, so threads would share one interpreter lock. By default the CPUs this
# process may use (its affinity, as a container or taskset sets it), at most 8: beyond, the
# database is what the run waits for. Celery workers scale the same by running several.
BILLING_RUN_PROCESSES = env.integer(
    "BILLING_RUN_PROCESSES",
    min(
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
        8,
    ),
    minimum=1,
)
# Days after the due date when reminders 1, 2, 3… go out.
OVERDUE_REMINDER_DAYS = env.parsed(
    "OVERDUE_REMINDER_DAYS",
    "1,8,15",
    lambda value: sorted({int(v) for v in value.split(",") if v.strip()}),
    "comma-separated whole numbers of days, e.g. 1,8,15",
)
# How many days before a notice deadline the customer and its partner are reminded.
NOTICE_REMINDER_DAYS = env.integer("NOTICE_REMINDER_DAYS", 30, minimum=1)
# How far from the sale date a subscription may start (months): a past start is invoiced at
# once for every period begun since, so the bound also bounds that catch-up.
SUBSCRIPTION_START_MAX_PAST_MONTHS = env.integer(
    "SUBSCRIPTION_START_MAX_PAST_MONTHS", 12, minimum=0
)
SUBSCRIPTION_START_MAX_FUTURE_MONTHS = env.integer(
    "SUBSCRIPTION_START_MAX_FUTURE_MONTHS", 12, minimum=0
)

# Storefront (offers grids, hosted sign-up) ------------------------------------------------------
# Origins allowed to show a grid's embeddable variant in a frame (CSP frame-ancestors), separated
# by spaces; a grid may set its own. Empty: only this site.
STOREFRONT_FRAME_ANCESTORS = env.string("STOREFRONT_FRAME_ANCESTORS", "")
# How long a sign-up waits for its email to be verified before it is purged (hours).
STOREFRONT_SIGNUP_TTL_HOURS = env.integer("STOREFRONT_SIGNUP_TTL_HOURS", 72, minimum=1)
# Rate limits per email address and per IP address, over a sliding hour.
STOREFRONT_SIGNUPS_PER_HOUR = env.integer("STOREFRONT_SIGNUPS_PER_HOUR", 5, minimum=1)
STOREFRONT_COUPON_TRIES_PER_HOUR = env.integer("STOREFRONT_COUPON_TRIES_PER_HOUR", 10, minimum=1)
# How long a temporary signed link to a hosted page stays valid (minutes).
STOREFRONT_LINK_TTL_MINUTES = env.integer("STOREFRONT_LINK_TTL_MINUTES", 60, minimum=1)
# The public address of this site, for links in emails sent by workers (no request there).
SITE_URL = env.string("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the admin's JavaScript does not need it, but forms might
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if env.boolean("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Audit history ------------------------------------------------------------------------------
# The history is an audit log: it is read, never used to roll an object back.
SIMPLE_HISTORY_REVERT_DISABLED = True

# Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # WeasyPrint narrates every step of every PDF at INFO.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # its start-up banner
    },
}

# Django REST framework ------------------------------------------------------------------------
# The largest API request body read (bytes): a subscription with every option is under 10 KB.
API_MAX_BODY_BYTES = env.integer("API_MAX_BODY_BYTES", 1_000_000, minimum=1024)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "integrations.pagination.Pagination",
    "PAGE_SIZE": 50,
    # JSON in, JSON out (the invoice PDF has its own renderer).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded in size and depth, no control characters (integrations/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["integrations.parsers.BoundedJSONParser"],
    # Refusals of the services (ApplicationError → 400, ConflictError → 409), mapped in one place.
    "EXCEPTION_HANDLER": "integrations.errors.api_exception_handler",
    # Errors not about one field use Django's key, as ApplicationError.as_dict() does.
    "NON_FIELD_ERRORS_KEY": "__all__",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cadence API",
    "DESCRIPTION": (
        "Catalog, customers, subscriptions and invoices of Cadence, for integrators. "
        "Authenticate with `Authorization: Token <key>`. Money is a string with 2 decimals "
        "beside the currency of its object; dates are ISO 8601. See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its documentation are public (they describe, they show no data).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # 3.1: full JSON Schema, so the keys of a mapping (seats by type) can be bounded too.
    "OAS_VERSION": "3.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set of the models (several have a `kind` or a `status`).
    "ENUM_NAME_OVERRIDES": {
        "PlanStatusEnum": "catalog.models.Plan.Status",
        "SubscriptionStatusEnum": "subscriptions.models.Subscription.Status",
        # The status shown: the lifecycle's and "suspended" (dunning).
        "SubscriptionShownStatusEnum": "subscriptions.models.Subscription.SHOWN_STATUSES",
        "HeldContractStatusEnum": "subscriptions.models.SubscriptionContract.Status",
        "InvoiceStatusEnum": "billing.models.Invoice.Status",
        "DiscountKindEnum": "catalog.models.Discount.Kind",
        "BundleItemKindEnum": "catalog.models.BundleItem.Kind",
        "ProductContractKindEnum": "catalog.models.ProductContract.Kind",
        "FeatureEnforcementEnum": "catalog.models.Feature.Enforcement",
        "SubscriptionItemKindEnum": "subscriptions.models.SubscriptionItem.Kind",
        "InvoiceKindEnum": "billing.models.Invoice.Kind",
        "InvoiceLineKindEnum": "billing.models.InvoiceLine.Kind",
        # EN 16931's VAT categories, on invoice lines and on their tax breakdown alike.
        "VatCategoryEnum": "catalog.models.TaxCategory",
        "PaymentMethodEnum": "billing.models.Payment.Method",
        # A payment method's kind and a customer's payment type are the same choice set.
        "PaymentTypeEnum": "catalog.models.PaymentType",
        "PaymentMethodStatusEnum": "payments.models.PaymentMethod.Status",
        "RefundStatusEnum": "payments.models.Refund.Status",
        "CreditEntryKindEnum": "payments.models.CreditEntry.Kind",
        "LanguageEnum": [("en", "English"), ("fr", "French")],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integrations.schema.bound_inputs",
        "integrations.schema.document_errors",
    ],
    # Documentation assets come from drf-spectacular-sidecar: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Idempotency keys and webhooks (integrations) -------------------------------------------------
# How long the answer to a POST sent with an Idempotency-Key is replayed.
IDEMPOTENCY_KEY_TTL_HOURS = env.integer("IDEMPOTENCY_KEY_TTL_HOURS", 24, minimum=1)
# A webhook POST waits this long for an answer; a non-2xx answer or an error is retried after
# WEBHOOK_RETRY_BACKOFF_SECONDS, doubling each time (capped), WEBHOOK_MAX_ATTEMPTS in all.
WEBHOOK_TIMEOUT_SECONDS = env.integer("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env.integer("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
WEBHOOK_RETRY_BACKOFF_SECONDS = env.integer("WEBHOOK_RETRY_BACKOFF_SECONDS", 30, minimum=1)
WEBHOOK_RETRY_BACKOFF_MAX_SECONDS = env.integer(
    "WEBHOOK_RETRY_BACKOFF_MAX_SECONDS", 6 * 3600, minimum=1
)
# Events read per batch by the dispatcher, and how long it waits for an event whose id it saw
# skipped (a transaction still open when it read past it) before giving up on it.
WEBHOOK_DISPATCH_BATCH = env.integer("WEBHOOK_DISPATCH_BATCH", 500, minimum=1)
WEBHOOK_OUTBOX_GRACE_SECONDS = env.integer("WEBHOOK_OUTBOX_GRACE_SECONDS", 900, minimum=1)

# Money ----------------------------------------------------------------------------------------
# Amounts are stored with 4 decimals (unit prices can be fractions of a cent) and rounded half-up
# to the currency's minor unit only where they are shown on an invoice.
MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 4
