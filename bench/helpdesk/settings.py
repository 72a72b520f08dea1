"""The smallest Django project django-helpdesk runs in, for bench/bench_helpdesk.py.

Runs in its own virtual environment (var/bench/helpdesk-venv), never in Prévenance's.
The SQLite file comes from HELPDESK_BENCH_DB; its options are Prévenance's own
(prevenance/settings.py: WAL, synchronous=NORMAL, IMMEDIATE transactions), so both
systems write to the same kind of file. Emails go to memory (locmem): the acknowledgement
helpdesk sends is rendered and handed to Django's mail API, nothing leaves the machine.
"""

import os

SECRET_KEY = "bench-only-not-secret"  # noqa: S105 - a throwaway project on a throwaway database
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "Europe/Paris"
LANGUAGE_CODE = "fr"
SITE_ID = 1
ROOT_URLCONF = "urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "service.client@boutique-lumiere.example"

# From the peer's notes (/work/shared/peers/django-helpdesk.md): no pinax-teams, no
# bootstrap4form; rest_framework, sites and humanize are needed.
HELPDESK_TEAMS_MODE_ENABLED = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
STATIC_URL = "/static/"
MEDIA_ROOT = os.environ.get("HELPDESK_BENCH_MEDIA", "/tmp/helpdesk-bench-media")  # noqa: S108 - bench only
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["HELPDESK_BENCH_DB"],
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
