"""One settings module; every deployment choice comes from an environment variable.

DATABASE_URL   sqlite:///path or postgres://user@host/db (default: SQLite under var/)
SECRET_KEY     generated into var/secret_key on first run when not given
DEBUG          "1"/"true" to enable (default off)
ALLOWED_HOSTS  comma-separated (default: localhost,127.0.0.1)
PREVENANCE_VAR_DIR          where the SQLite file and generated secret live (default ./var)
PREVENANCE_PHONE_REGION     default region for phone numbers without a country code (default FR)
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("PREVENANCE_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def generated_secret_key() -> str:
    """Never a hard-coded production secret: make one per installation and keep it in var/."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or generated_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "prevenance.core",
    "prevenance.customers",
    "prevenance.interactions",
    "prevenance.cases",
    "prevenance.api",
    "prevenance.web",
    "prevenance.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # The API's JSON error shape for an unknown /api/ path and a method an endpoint lacks (after
    # LocaleMiddleware: the message is translated).
    "prevenance.api.middleware.ApiErrorShapeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A user's saved language on the language cookie of the response that logs them in.
    "prevenance.web.login_language.LoginLanguageMiddleware",
    # Idempotency-Key on API POSTs (after authentication: it scopes keys by caller).
    "prevenance.api.middleware.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "prevenance.urls"
WSGI_APPLICATION = "prevenance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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


def database_config() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'prevenance.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=60)
    except Exception as exc:  # dj_database_url raises plain ValueError/KeyError on bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # Parameters bound by the server, and each statement prepared on its (persistent)
        # connection at its second use: PostgreSQL then parses and plans an intake's twenty
        # statements once per connection, not on every case (+20 % API case creations,
        # docs/benchmarks.md). Set it to 0 behind a PgBouncer in transaction mode, which
        # cannot keep a connection's prepared statements.
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "server_side_binding": True, "prepare_threshold": 2}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock
        # at BEGIN so two writers queue instead of failing on a lock upgrade.
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # A file (not :memory:) so concurrency tests really share one database across
        # threads; one per test process so parallel runs never collide.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    return config


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates day first with a 24-hour clock (prevenance/formats/en); French keeps Django's.
FORMAT_MODULE_PATH = ["prevenance.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "prevenance.core.staticfiles.ManifestStaticStorage"},
}
# Serve the apps' static files even before `collectstatic` (runserver, a bare gunicorn).
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# A CSV upload can be large; the import service streams it from a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

PREVENANCE_PHONE_REGION = os.environ.get("PREVENANCE_PHONE_REGION", "FR").upper()

LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own logger writes to the console with DEBUG on, and its records also reach the
    # root's console: every "Not Found" or "Method Not Allowed" of `make run` came out twice.
    # Without a handler of its own (its mail_admins has no ADMINS to write to), each is written
    # once. Its level is the root's: records passed on to the root's handlers are not filtered
    # by the root's level again, and Django's INFO would reach a production console.
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL}},
}

def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} or more, got {value}")
    return value


# A mail server that gives up on an address for now (mailbox full, server down): this many
# such failures within this many days, without the person writing in between, flag the
# address as bouncing, as one refusal for good does (customers/services/deliverability.py).
PREVENANCE_SOFT_BOUNCE_LIMIT = env_int("PREVENANCE_SOFT_BOUNCE_LIMIT", 3, minimum=1)
PREVENANCE_SOFT_BOUNCE_DAYS = env_int("PREVENANCE_SOFT_BOUNCE_DAYS", 14, minimum=1)

# Each web process keeps the API keys it has seen, with their permissions, this many seconds
# (0: off); a revocation made elsewhere takes up to this long to reach it (docs/api.md).
PREVENANCE_API_KEY_CACHE_SECONDS = env_int("PREVENANCE_API_KEY_CACHE_SECONDS", 10)

# Case numbers: "auto" (default: a sequence on PostgreSQL, the counter on SQLite), "counter"
# (no gaps, but one intake commits after the other) or "sequence" (PostgreSQL only: intakes
# side by side, a failed one leaves a gap). See cases/services/numbering.py and docs/api.md.
PREVENANCE_CASE_NUMBERS = os.environ.get("PREVENANCE_CASE_NUMBERS", "auto").strip().lower()
if PREVENANCE_CASE_NUMBERS not in ("auto", "counter", "sequence"):
    raise ImproperlyConfigured(f"PREVENANCE_CASE_NUMBERS must be 'auto', 'counter' or 'sequence', got {PREVENANCE_CASE_NUMBERS!r}")


def shared_cache(url: str) -> dict:
    """The cache every web process shares (rate limits, docs/contact-form.md): a table in the
    database by default (created by migrate), Redis when SHARED_CACHE_URL=redis://... is given."""
    if not url:
        # MAX_ENTRIES well above what a flood leaves behind: culling would drop live counters.
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "prevenance_cache",
                "OPTIONS": {"MAX_ENTRIES": 50_000}}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise ImproperlyConfigured(f"SHARED_CACHE_URL must be a redis:// URL (or empty for the database), got {url!r}")


CACHES = {
    # Per process: only for what may differ between workers.
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": shared_cache(os.environ.get("SHARED_CACHE_URL", "")),
}
# Public contact form (/cases/contact/): at most LIMIT submissions per client IP per WINDOW seconds.
PREVENANCE_CONTACT_FORM_LIMIT = env_int("PREVENANCE_CONTACT_FORM_LIMIT", 5, minimum=1)
if PREVENANCE_CONTACT_FORM_LIMIT > 1000:  # one cache key per allowed submission (cases/ratelimit.py)
    raise ImproperlyConfigured(f"PREVENANCE_CONTACT_FORM_LIMIT must be 1000 or less, got {PREVENANCE_CONTACT_FORM_LIMIT}")
PREVENANCE_CONTACT_FORM_WINDOW = env_int("PREVENANCE_CONTACT_FORM_WINDOW", 600, minimum=1)
# How many reverse proxies in front of the app append to X-Forwarded-For. 0 (default): the
# header is ignored and the client is REMOTE_ADDR, since anyone can send the header.
PREVENANCE_TRUSTED_PROXIES = env_int("PREVENANCE_TRUSTED_PROXIES", 0)
# Files customers attach on the contact form: size of each, and how many.
PREVENANCE_ATTACHMENT_MAX_BYTES = env_int("PREVENANCE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
PREVENANCE_CONTACT_FORM_MAX_FILES = env_int("PREVENANCE_CONTACT_FORM_MAX_FILES", 5)
# Files an agent may attach to one reply or note (each within PREVENANCE_ATTACHMENT_MAX_BYTES).
PREVENANCE_REPLY_MAX_FILES = env_int("PREVENANCE_REPLY_MAX_FILES", 10)
# ...and their size together: an email much bigger than 20 MB is refused by most mail relays.
PREVENANCE_REPLY_MAX_TOTAL_BYTES = env_int("PREVENANCE_REPLY_MAX_TOTAL_BYTES", 20 * 1024 * 1024, minimum=1)
# Webhook URLs that are, or resolve to, loopback, private, link-local, unique-local or other
# internal addresses are refused when saved and at every call (core/webhooks/destinations.py).
# On: an installation that delivers to an internal service on purpose (docs/webhooks.md).
PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES")

# Absolute links in emails (consent confirmation, surveys) start with this. Unset, `prevenance serve`
# gives its web server and worker the address it listens on (core/management/commands/serve.py).
PREVENANCE_BASE_URL = os.environ.get("PREVENANCE_BASE_URL", "http://127.0.0.1:8000")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "care@prevenance.localhost")
# The outgoing server of the SMTP backends (Django's names; README, "Settings").
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")  # STARTTLS, usually on port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")  # TLS from the start, usually on port 465
# Django waits forever by default: a server that stops answering would hold a worker for good.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
# Inbound email (docs/email-intake.md). Relays POST raw messages to /cases/inbound/email/ with
# this secret (Authorization: Bearer, or as the Basic password); unset, the endpoint refuses all.
PREVENANCE_INBOUND_EMAIL_TOKEN = os.environ.get("PREVENANCE_INBOUND_EMAIL_TOKEN", "")
# Inbound messages kept aside for review (no usable sender, anti-robot field filled in) are
# deleted this many days after they came (cases/services/suspended.py, docs/email-intake.md).
PREVENANCE_SUSPENDED_RETENTION_DAYS = env_int("PREVENANCE_SUSPENDED_RETENTION_DAYS", 30, minimum=1)
PREVENANCE_INBOUND_EMAIL_MAX_BYTES = env_int("PREVENANCE_INBOUND_EMAIL_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
# `prevenance poll-imap`: the mailbox it reads (options on the command line win).
PREVENANCE_IMAP_HOST = os.environ.get("PREVENANCE_IMAP_HOST", "")
PREVENANCE_IMAP_PORT = env_int("PREVENANCE_IMAP_PORT", 0)  # 0: 993 with TLS, 143 without
PREVENANCE_IMAP_USER = os.environ.get("PREVENANCE_IMAP_USER", "")
PREVENANCE_IMAP_PASSWORD = os.environ.get("PREVENANCE_IMAP_PASSWORD", "")
PREVENANCE_IMAP_FOLDER = os.environ.get("PREVENANCE_IMAP_FOLDER", "INBOX")
PREVENANCE_IMAP_MAILBOX = os.environ.get("PREVENANCE_IMAP_MAILBOX", "")  # the address it receives for

# Background work with Celery (docs/background-jobs.md). Without CELERY_BROKER_URL the broker
# is a folder under var/celery/ that `make run`'s worker polls: no server to install. At scale,
# CELERY_BROKER_URL=redis://host:6379/0 or amqp://user:password@host:5672//.
# CELERY_RESULT_BACKEND is optional: tasks record their effects in the database, not as results.
celery_dir = VAR_DIR / "celery"
celery_dir.mkdir(exist_ok=True)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://localhost/"
if "://" not in CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be a URL such as redis://127.0.0.1:6379/0, got {CELERY_BROKER_URL!r}"
    )
try:
    celery_polling_interval = float(os.environ.get("CELERY_POLLING_INTERVAL", "0.1"))
except ValueError as exc:
    raise ImproperlyConfigured("CELERY_POLLING_INTERVAL must be a number of seconds, such as 0.1") from exc
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "prevenance.core.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(celery_dir / "queue"),
        "data_folder_out": str(celery_dir / "queue"),
        "control_folder": str(celery_dir / "control"),
        "polling_interval": celery_polling_interval,
        # When a message reaches the disk: always, everysec or never (core/broker.py).
        "fsync": os.environ.get("CELERY_BROKER_FSYNC", "everysec"),
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
# A task is acknowledged when it has finished, so a worker that dies mid-task leaves it for
# another; tasks are idempotent (prevenance.core.queue.run_once), so running twice is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(celery_dir / "beat-schedule")
# How often the worker sends the emails waiting in the outbox (acknowledgements of new cases
# wait at most this long; cases/services/outbound.py).
PREVENANCE_OUTBOX_SECONDS = env_int("PREVENANCE_OUTBOX_SECONDS", 5, minimum=1)
# The satisfaction survey goes this many minutes after a case is resolved (0: at the next sweep
# of the outbox), and never before the case's last reply has gone; a case reopened meanwhile gets
# none until it is resolved again (cases/services/surveys.py, docs/templates-and-surveys.md).
PREVENANCE_SURVEY_DELAY_MINUTES = env_int("PREVENANCE_SURVEY_DELAY_MINUTES", 60)
CELERY_BEAT_SCHEDULE = {
    "prune-task-effects": {"task": "prevenance.core.tasks.prune_task_effects", "schedule": 24 * 3600},
    "check-sla-breaches": {"task": "prevenance.cases.tasks.check_sla_breaches", "schedule": 5 * 60},
    "refresh-priority-scores": {"task": "prevenance.cases.tasks.refresh_priority_scores", "schedule": 5 * 60},
    "retry-webhooks": {"task": "prevenance.core.tasks.retry_webhooks", "schedule": 60},
    # The email outbox: acknowledgements, retries, lost tasks (cases/services/outbound.py).
    "send-due-emails": {"task": "prevenance.cases.tasks.send_due_emails", "schedule": PREVENANCE_OUTBOX_SECONDS},
    "prune-idempotency-keys": {"task": "prevenance.api.tasks.prune_idempotency_keys", "schedule": 3600},
    "purge-suspended-messages": {"task": "prevenance.cases.tasks.purge_suspended_messages", "schedule": 24 * 3600},
}
