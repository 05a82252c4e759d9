"""Settings, every value read once from the environment (django-environ).

The defaults run the whole product on a fresh machine with nothing prepared: SQLite and
Celery's filesystem broker under `var/`, e-mail to the console. Production sets
DJANGO_DEBUG=false and the variables listed in README.md; that switches on the hardening below.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# An optional `.env` beside manage.py, for developers; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Django's debug pages (every URL on a 404, the traceback on an error) for developers who ask;
# otherwise development shows the site's own error pages, as production does.
DEBUG_PAGES = DEBUG and env.bool("DJANGO_DEBUG_PAGES", default=False)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-development-only-never-in-production")
else:
    SECRET_KEY = env("SECRET_KEY")  # required: ImproperlyConfigured names it when missing

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SHOP_NAME = env("SHOP_NAME", default="Video shop back office")

INSTALLED_APPS = [
    "core.apps.BackOfficeAdminConfig",  # django.contrib.admin, refusing NUL in its filters
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "axes",
    "csp",
    "simple_history",
    "ninja",  # the JSON API's OpenAPI document and docs, served from local static files
    "core.apps.SiteConfig",
    "subscriptions",
    "buyers",
    "purchases",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    # First: /healthz/ answers load balancers over plain HTTP, by address, without a session.
    "core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The audit trail's actor: the request's address and id, then its user or API key.
    "core.audit.AuditActorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # API requests past Django's upload limits answered in the API's error shape, not HTML.
    "api.middleware.ApiRequestLimitsMiddleware",
    # Players' access checks (an API key, no cookie) skip the middleware below: api/middleware.py.
    "api.middleware.PlayersFastPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language for a visitor; a signed-in user's own choice below, after auth.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs a signed-in user unless it is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # The language a staff user chose (kept in the session from their preference at sign-in);
    # the API speaks English whatever the client's Accept-Language.
    "core.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # With DEBUG on, the site's own 404 and 500 pages unless DEBUG_PAGES (core/error_pages.py).
    "core.error_pages.SiteErrorPagesMiddleware",
    # Records who made each change in the history of subscriptions and pricing models.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
                "webhooks.context_processors.notices",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs the web server, a worker and beat on one file: WAL lets readers
    # and one writer work at once, IMMEDIATE transactions wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Sign-in --------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)

# Brute-force protection: a user name is locked for an address after repeated failures; other
# addresses (the real user elsewhere) can still sign in, and a success clears the count. Wrong
# current passwords on the password-change form count as failures too (core/views.py).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# An IPv6 client counts as its /64 network (core/client_ip.py).
AXES_CLIENT_IP_CALLABLE = "core.client_ip.sign_in_address"
AXES_VERBOSE = False

# --- Internationalisation -------------------------------------------------------------------
# The language of a visitor who has chosen none; staff choose theirs (core/languages.py), each
# buyer has one for their e-mails (Buyer.language).
LANGUAGE_CODE = "en"
# Named in the reader's language on pages ("Английский"); the header's menu names each in its own.
LANGUAGES = [("en", gettext_lazy("English")), ("ru", gettext_lazy("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The shop's time zone: dates typed without a time are read in it, reports are cut by it.
TIME_ZONE = env("SHOP_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG  # in development, serve static/ as it is, without collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- E-mail ---------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="filemail://")
if _email["EMAIL_BACKEND"].endswith(".filebased.EmailBackend") and not _email["EMAIL_FILE_PATH"]:
    # The embedded default keeps e-mails out of the console: files under var/mail/, one a batch.
    _email["EMAIL_FILE_PATH"] = str(VAR_DIR / "mail")
vars().update(_email)
# Seconds an SMTP server may take to answer: a hung server fails the delivery (retried by the
# outbox) instead of holding a worker, and the outbox row it claimed, forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@localhost")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Payments -------------------------------------------------------------------------------
# The payment gateways this shop accepts (purchases/gateways/); the wallet is always offered.
# The sandboxes approve test cards for free, so production offers none unless it says so.
PAYMENT_GATEWAYS = env.list(
    "PAYMENT_GATEWAYS",
    default=["sandbox_card", "sandbox_paypal", "sandbox_webpay", "sandbox_worldpay"]
    if DEBUG
    else [],
)
# The reference-003 Recurring web service (purchases/gateways/recurring003.py, "recurring003"):
# offered only when listed in PAYMENT_GATEWAYS and URL, user name, password and vendor are set.
# The URL is the service's base, e.g. https://secure.example.com/admin/ws/recurring.asmx.
RECURRING_GATEWAY_URL = env("RECURRING_GATEWAY_URL", default="")
RECURRING_GATEWAY_USERNAME = env("RECURRING_GATEWAY_USERNAME", default="")
RECURRING_GATEWAY_PASSWORD = env("RECURRING_GATEWAY_PASSWORD", default="")
RECURRING_GATEWAY_VENDOR = env("RECURRING_GATEWAY_VENDOR", default="")
RECURRING_GATEWAY_TIMEOUT = env.float("RECURRING_GATEWAY_TIMEOUT", default=30.0)
# The service has no currency field: the one currency the merchant account settles in.
RECURRING_GATEWAY_CURRENCY = env("RECURRING_GATEWAY_CURRENCY", default="USD")

# Minutes a purchase session stays open, and a purchase waits for its payment page.
PURCHASE_SESSION_MINUTES = env.int("PURCHASE_SESSION_MINUTES", default=30)
PENDING_PURCHASE_MINUTES = env.int("PENDING_PURCHASE_MINUTES", default=30)
# A card or e-wallet purchase still pending this long after it was made lost its request (a
# crashed worker) or its gateway answer: the job every PURCHASE_RESOLVE_INTERVAL_SECONDS asks the
# gateway and settles it. Longer than a request can run (gunicorn's --timeout) and than
# API_IDEMPOTENCY_LEASE_SECONDS, so a client retrying a cut-off purchase finishes it first.
PURCHASE_RESOLVE_SECONDS = env.int("PURCHASE_RESOLVE_SECONDS", default=120)
PURCHASE_RESOLVE_INTERVAL_SECONDS = env.int("PURCHASE_RESOLVE_INTERVAL_SECONDS", default=60)
# Dunning: days after each declined renewal before the next try; after the last, it ends.
RENEWAL_RETRY_DAYS = env.list("RENEWAL_RETRY_DAYS", cast=int, default=[1, 3, 7])
# Hours a renewing contract's access outlasts its next bill date, so the buyer keeps watching
# until the renewal job (every RENEWAL_INTERVAL_SECONDS, later if workers are down) has charged
# it. A contract stopping at its period's end gets none: its access ends at the period's end.
RENEWAL_GRACE_HOURS = env.int("RENEWAL_GRACE_HOURS", default=24)
# How long a worker holds the contracts it claimed before another may take them (seconds).
RENEWAL_CLAIM_SECONDS = env.int("RENEWAL_CLAIM_SECONDS", default=600)
# How long a plan change's preview may be confirmed with its amounts (then preview again).
PLAN_CHANGE_PREVIEW_SECONDS = env.int("PLAN_CHANGE_PREVIEW_SECONDS", default=900)
# How many days before a renewal charge its buyer is reminded by e-mail.
RENEWAL_REMINDER_DAYS = env.int("RENEWAL_REMINDER_DAYS", default=3)
# The longest a recurring contract may be paused, in days (counted on the shop's calendar). An
# open-ended pause lasts this long and then resumes on its own; a longer pause is refused.
CONTRACT_MAX_PAUSE_DAYS = env.int("CONTRACT_MAX_PAUSE_DAYS", default=90)

# The most staff may top up or adjust an e-wallet by hand at a time; more needs the Finance
# role. An amount for every currency, then CUR=amount for currencies whose units differ much:
# "100,JPY=15000" is 100.00 EUR, 100.00 USD, ... and 15000 JPY.
WALLET_ADJUSTMENT_LIMIT = {
    (code.strip().upper() if sep else "*"): Decimal(amount if sep else code)
    for code, sep, amount in (
        entry.partition("=")
        for entry in env.list("WALLET_ADJUSTMENT_LIMIT", default=["100", "JPY=15000"])
    )
}

# --- HTTP API -------------------------------------------------------------------------------
# Requests a new API key may make a minute (0: no limit; each key's own limit is set on its
# page), counted in CACHES["default"]: production needs CACHE_URL=redis://… so every process
# shares the count (with the cache down, each process counts alone and logs it).
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
# The time zone of the PPV API's dates, read and answered as YYYY-MM-DD HH:MM:SS without an
# offset: the reference system answers in Moscow time, and its clients compare with it.
PPV_API_TIME_ZONE = env("PPV_API_TIME_ZONE", default=TIME_ZONE)
ZoneInfo(PPV_API_TIME_ZONE)  # an unknown zone stops the start, not every PPV request after it
# The currency of a price given as reference 004's `cost` (it names none).
SHOP_CURRENCY = env("SHOP_CURRENCY", default="EUR")
# Hours an answer is kept for a retry with the same Idempotency-Key (create/cancel purchase).
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
# How long a request holds its Idempotency-Key before a retry may take it over (seconds): longer
# than a request can run (gunicorn's --timeout, 30 s by default), short enough that a retry
# after a crashed worker gets its answer soon.
API_IDEMPOTENCY_LEASE_SECONDS = env.int("API_IDEMPOTENCY_LEASE_SECONDS", default=45)

# --- Outbox (core/outbox.py) ----------------------------------------------------------------
# Side effects (buyer e-mails) are rows written with the change and delivered after the commit;
# the relay job delivers those the broker did not take, every OUTBOX_RELAY_SECONDS.
OUTBOX_RELAY_SECONDS = env.int("OUTBOX_RELAY_SECONDS", default=30)
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=500)
# A failing delivery is retried after OUTBOX_RETRY_SECONDS, doubling up to the maximum; after
# OUTBOX_MAX_ATTEMPTS it is dead (kept, listed in the admin, counted on the home page).
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", default=30)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=3600)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
# A message still waiting after this long is "stuck": /healthz/ names the outbox degraded.
OUTBOX_STUCK_MINUTES = env.int("OUTBOX_STUCK_MINUTES", default=10)
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=30)
# --- Outbound webhooks (webhooks/delivery.py) ------------------------------------------------
# Endpoints on private, loopback or link-local addresses are refused unless this is on (tests,
# or a receiver inside the shop's own network on purpose).
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A failed delivery is retried after WEBHOOK_RETRY_SECONDS, doubling up to the maximum, for
# WEBHOOK_RETRY_DAYS; an endpoint failing that long is disabled and the admins are told.
WEBHOOK_RETRY_SECONDS = env.int("WEBHOOK_RETRY_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600)
WEBHOOK_RETRY_DAYS = env.int("WEBHOOK_RETRY_DAYS", default=3)
# Deliveries a worker claims at once, and how many of them it POSTs concurrently.
# Waiting on receivers, not the CPU, bounds a worker: 32 at once did 1.7x the deliveries/s of 16
# in tests/bench (more gained nothing).
WEBHOOK_BATCH = env.int("WEBHOOK_BATCH", default=256)
WEBHOOK_CONCURRENCY = env.int("WEBHOOK_CONCURRENCY", default=32)
WEBHOOK_RELAY_SECONDS = env.int("WEBHOOK_RELAY_SECONDS", default=30)
# A claimed delivery is kept from other workers for its timeout plus this margin: a worker that
# dies mid-POST leaves it to be sent again after that (at least once).
WEBHOOK_LEASE_MARGIN_SECONDS = env.int("WEBHOOK_LEASE_MARGIN_SECONDS", default=30)
# After "New signing secret", the old secret keeps signing (a second v1) for the hours the admin
# chooses, at most this many, so receivers switch without refusing a delivery.
WEBHOOK_SECRET_OVERLAP_MAX_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_MAX_HOURS", default=7 * 24)
# Settled deliveries and their attempts (the delivery log) are forgotten after this many days.
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=90)

# How long /healthz/ waits for the broker before naming it unavailable (seconds).
HEALTH_BROKER_TIMEOUT_SECONDS = env.float("HEALTH_BROKER_TIMEOUT_SECONDS", default=1.0)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
# A web request hands its outbox rows to the broker after its commit: with the broker down,
# kombu would retry the connection forever and hang the request. Two quick retries, then the
# rows wait for the relay job (core/outbox.py). Workers and beat reconnect on their own
# schedule (broker_connection_retry), which these options do not change.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": 2,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The transport ignores the host; naming one spares a "No hostname was supplied" warning.
    if CELERY_BROKER_URL in ("filesystem://", "filesystem:///"):
        CELERY_BROKER_URL = "filesystem://localhost/"
    # The embedded broker: messages are files under var/, shared by every local process.
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 2,
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Reminds buyers whose access expires within ACCESS_EXPIRING_NOTICE_DAYS (once per access).
    "buyers-access-expiring-emails": {
        "task": "buyers.tasks.queue_access_expiring_emails",
        "schedule": timedelta(hours=1),
    },
    # Charges due recurring contracts, each once per period; several workers may run it at once.
    "purchases-renew-contracts": {
        "task": "purchases.tasks.renew_due_contracts",
        "schedule": timedelta(seconds=env.int("RENEWAL_INTERVAL_SECONDS", default=300)),
    },
    # Reminds buyers RENEWAL_REMINDER_DAYS before a contract is charged (once per bill).
    "purchases-renewal-reminders": {
        "task": "purchases.tasks.queue_renewal_reminders",
        "schedule": timedelta(hours=1),
    },
    # Resumes paused contracts whose pause has ended (each once, however many workers run it).
    "purchases-resume-paused-contracts": {
        "task": "purchases.tasks.resume_due_contracts",
        "schedule": timedelta(seconds=env.int("RENEWAL_INTERVAL_SECONDS", default=300)),
    },
    # Forgets API answers kept for Idempotency-Key retries after API_IDEMPOTENCY_HOURS.
    "site-purge-idempotency-keys": {
        "task": "api.tasks.purge_old_idempotency_keys",
        "schedule": timedelta(hours=1),
    },
    # Hands back to a worker the bulk operations whose worker died (no chunk written for
    # BULK_STALLED_MINUTES); running one twice is safe.
    "buyers-resume-bulk-operations": {
        "task": "buyers.tasks.resume_stalled_bulk_operations",
        "schedule": timedelta(minutes=5),
    },
    # Delivers outbox messages (buyer e-mails) that are due: written while the broker was down,
    # or waiting for a retry. Each is delivered once, however many workers run it.
    "site-relay-outbox": {
        "task": "core.tasks.relay_outbox",
        "schedule": timedelta(seconds=OUTBOX_RELAY_SECONDS),
    },
    # Sends webhook deliveries that are due: retries, and those the broker did not take.
    "webhooks-deliver-due": {
        "task": "webhooks.tasks.deliver_due_webhooks",
        "schedule": timedelta(seconds=WEBHOOK_RELAY_SECONDS),
    },
    # Forgets settled webhook deliveries and attempts after WEBHOOK_RETENTION_DAYS.
    "webhooks-purge-history": {
        "task": "webhooks.tasks.purge_webhook_history",
        "schedule": timedelta(hours=24),
    },
    "site-purge-sent-outbox": {
        "task": "core.tasks.purge_sent_outbox_messages",
        "schedule": timedelta(hours=6),
    },
    # Settles card and e-wallet purchases left pending by a crash or a lost gateway answer.
    "purchases-resolve-pending": {
        "task": "purchases.tasks.resolve_pending_purchases",
        "schedule": timedelta(seconds=PURCHASE_RESOLVE_INTERVAL_SECONDS),
    },
    # Fails purchases whose payment page the buyer left without paying (PENDING_PURCHASE_MINUTES).
    "purchases-expire-pending": {
        "task": "purchases.tasks.expire_pending_purchases",
        "schedule": timedelta(minutes=5),
    },
}

# --- Buyers ---------------------------------------------------------------------------------
# Wrong purchase PINs in a row before the PIN is locked (staff unlock it by setting a new one).
PURCHASE_PIN_FAILURE_LIMIT = env.int("PURCHASE_PIN_FAILURE_LIMIT", default=5)
# How many days before an access expires its buyer is reminded by e-mail.
ACCESS_EXPIRING_NOTICE_DAYS = env.int("ACCESS_EXPIRING_NOTICE_DAYS", default=3)
# The currency preselected on the e-wallet top-up form.
WALLET_DEFAULT_CURRENCY = env("WALLET_DEFAULT_CURRENCY", default="EUR")

# --- Buyers' self-service page ----------------------------------------------------------------
# The address buyers reach this site at: links in e-mails (sent by workers, with no request to
# take the host from) start with it.
SITE_URL = env("SITE_URL", default="http://localhost:8000")
# How long the signed link in a buyer e-mail opens the buyer's self-service page.
SELF_SERVICE_LINK_DAYS = env.int("SELF_SERVICE_LINK_DAYS", default=30)
# Fresh links a buyer may have e-mailed an hour (per link and per address asked for).
SELF_SERVICE_LINK_EMAILS_PER_HOUR = env.int("SELF_SERVICE_LINK_EMAILS_PER_HOUR", default=3)
# New cards a buyer may have checked with the gateway an hour from the page (card testing).
SELF_SERVICE_CARD_CHECKS_PER_HOUR = env.int("SELF_SERVICE_CARD_CHECKS_PER_HOUR", default=5)

# --- Security -------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    # Only behind a proxy that sets this header itself; otherwise clients could forge it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe the health check over plain HTTP (HealthCheckMiddleware answers it first;
# this keeps it so if the middleware order changes).
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)

# A strict policy: scripts and styles only from our own static files, never inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Lists ----------------------------------------------------------------------------------
DJANGO_TABLES2_TEMPLATE = "partials/table.html"
# List pages count matching rows exactly up to this many, then say "more than"; counting a
# million rows on every page view is what makes big admin pages slow.
LIST_COUNT_LIMIT = env.int("LIST_COUNT_LIMIT", default=10_000)
FILTERS_EMPTY_CHOICE_LABEL = gettext_lazy("Any")
# Bulk actions on the accesses and buyers lists (buyers/bulk.py): at most this many rows at
# once ("all matching the filter" beyond it is refused), written in chunks of BULK_CHUNK_SIZE
# (one transaction each, so progress shows and a killed worker resumes); an operation can be
# undone for BULK_UNDO_HOURS; "extend by N days" takes N up to BULK_EXTEND_MAX_DAYS.
BULK_ACTION_LIMIT = env.int("BULK_ACTION_LIMIT", default=50_000)
BULK_CHUNK_SIZE = env.int("BULK_CHUNK_SIZE", default=500)
BULK_UNDO_HOURS = env.int("BULK_UNDO_HOURS", default=24)
BULK_EXTEND_MAX_DAYS = env.int("BULK_EXTEND_MAX_DAYS", default=3650)
BULK_STALLED_MINUTES = env.int("BULK_STALLED_MINUTES", default=10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # A buyer's self-service link is a key: request paths are logged without it.
    "filters": {"hide_signed_links": {"()": "core.log_redaction.HideSignedLinks"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["hide_signed_links"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
