"""ZIAS settings, read from the environment (see .env.example for every variable).

Everything has a default that suits a laptop trying ZIAS out; production sets the
environment. A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import environ

from zias.envcheck import (
    EXAMPLE_SECRET_KEY,
    checked_database,
    checked_mqtt_url,
    checked_redis_url,
    checked_time_zone,
    read_bool,
    read_int,
    read_list,
    read_optional_int,
)

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = read_bool(env, "DEBUG", False)

_DEV_ONLY_SECRET = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if SECRET_KEY == EXAMPLE_SECRET_KEY:
    raise environ.ImproperlyConfigured(
        "SECRET_KEY: the example value from .env.example is refused; generate your own "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
# Commands that only read the models sign nothing, so checking migrations needs no secret.
# Decided from the command line, not the environment, so no setting can switch it on.
_READS_MODELS_ONLY = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] in (
    ["makemigrations"],
    ["showmigrations"],
    ["sqlmigrate"],
)
if not SECRET_KEY:
    if not DEBUG and not _READS_MODELS_ONLY:
        raise environ.ImproperlyConfigured("SECRET_KEY: required when DEBUG is off.")
    SECRET_KEY = _DEV_ONLY_SECRET

ALLOWED_HOSTS = read_list(env, "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = read_list(env, "CSRF_TRUSTED_ORIGINS", [])
CORS_ALLOWED_ORIGINS = read_list(env, "CORS_ALLOWED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "import_export",  # the admin's import pages (zias/imports)
    "attendance",
    "devices",
    "beacons",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Daphne serves no static files; WhiteNoise serves the admin's, the API docs' and ours.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff changes name who made them (the recompute they cause says so).
    "attendance.changes.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zias.urls"
WSGI_APPLICATION = "zias.wsgi.application"
ASGI_APPLICATION = "zias.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": checked_database(env, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Live state and the channel layer: Redis when REDIS_URL is set, in process otherwise.
REDIS_URL = checked_redis_url(env)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNEL_PREFIX", default="zias")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# MQTT: unset means the zero-setup run starts a local broker on MQTT_LOCAL_PORT.
MQTT_URL = checked_mqtt_url(env)
MQTT_TOPIC_PREFIX = env.str("MQTT_TOPIC_PREFIX", default="zias")
if not MQTT_TOPIC_PREFIX or any(c in MQTT_TOPIC_PREFIX for c in "#+ "):
    raise environ.ImproperlyConfigured(
        "MQTT_TOPIC_PREFIX: must be a non-empty topic level without '#', '+' or spaces."
    )
MQTT_CLIENT_ID = env.str("MQTT_CLIENT_ID", default="zias-ingest")
# Opt-in MQTT 5 shared subscription group, so several ingest processes split the stream.
MQTT_SHARED_GROUP = env.str("MQTT_SHARED_GROUP", default="")
INGEST_BATCH_SIZE = read_int(env, "INGEST_BATCH_SIZE", 500, minimum=1)
INGEST_BATCH_MS = read_int(env, "INGEST_BATCH_MS", 20, minimum=1)
INGEST_TICK_SECONDS = read_int(env, "INGEST_TICK_SECONDS", 5, minimum=1)
# Enrol by tap: how long a reader waits for the unknown card to give the chosen student.
ENROL_BY_TAP_SECONDS = read_int(env, "ENROL_BY_TAP_SECONDS", 60, minimum=5)
# The broker admin login for Mosquitto's dynamic security plugin. Set: credential changes
# reach the broker at once and the ingest reconciles every MQTT_DYNSEC_RECONCILE_SECONDS.
# Unset: the plugin is not used (the password-file path, `mosquitto_sync --out`).
MQTT_ADMIN_URL = checked_mqtt_url(env, "MQTT_ADMIN_URL", login=True)
MQTT_DYNSEC_RECONCILE_SECONDS = read_int(env, "MQTT_DYNSEC_RECONCILE_SECONDS", 300, minimum=10)

# A phone's offline buffer: a BLE report dated further than this before its receipt (or in
# the future) is kept as evidence but never counts as presence by itself (flag late_report).
BLE_OFFLINE_WINDOW_SECONDS = read_int(env, "BLE_OFFLINE_WINDOW_SECONDS", 900, minimum=30)
# Prefix of the Redis keys where workers share recent BLE windows to find cloned reports.
BLE_CLONE_KEY_PREFIX = env.str("BLE_CLONE_KEY_PREFIX", default="zias:clones:")
# Impossible travel: the least believable walk between two rooms, for door taps and BLE
# alike (attendance.rules.proxy.TravelModel, whose defaults these are).
TRAVEL_SAME_FLOOR_S = read_int(env, "TRAVEL_SAME_FLOOR_S", 20, minimum=0)
TRAVEL_PER_FLOOR_S = read_int(env, "TRAVEL_PER_FLOOR_S", 15, minimum=0)
TRAVEL_OTHER_BUILDING_S = read_int(env, "TRAVEL_OTHER_BUILDING_S", 120, minimum=0)
# A teacher may watch a room live from this many minutes before one of their sessions
# there starts until this many after it ends (staff always).
LIVE_ACCESS_MARGIN_MINUTES = read_int(env, "LIVE_ACCESS_MARGIN_MINUTES", 15, minimum=0)
# Email (attendance warnings): django-environ's EMAIL_URL, e.g. smtp://user:pass@host:587
# or smtp+tls://...; consolemail:// (the default) prints messages to the log instead.
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://")
globals().update({key: value for key, value in _EMAIL.items() if value not in (None, "")})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ZIAS <zias@localhost>")
# An SMTP server that stops answering must not hold the ingest's tick for long.
EMAIL_TIMEOUT = read_int(env, "EMAIL_TIMEOUT", 10, minimum=1)

# Attendance warnings: the school-wide defaults a new course starts with (each course can
# change them; `off` switches a kind of warning off).
WARN_BELOW_PCT = read_optional_int(env, "WARN_BELOW_PCT", 75, minimum=1, maximum=100)
WARN_MIN_SESSIONS = read_int(env, "WARN_MIN_SESSIONS", 4, minimum=1)
WARN_CONSECUTIVE_ABSENCES = read_optional_int(
    env, "WARN_CONSECUTIVE_ABSENCES", 3, minimum=1, maximum=100
)
# The ingest's tick looks for new warnings at most this often.
WARN_CHECK_SECONDS = read_int(env, "WARN_CHECK_SECONDS", 60, minimum=1)

# Retention (attendance/retention.py): phones' raw BLE reports and rejected messages older
# than this many days are deleted by the ingest's tick, a slice of rows at a time (0 keeps
# them forever). Reports a session that is not final yet may need are kept regardless.
RETENTION_BLE_REPORT_DAYS = read_int(env, "RETENTION_BLE_REPORT_DAYS", 90, minimum=0)
RETENTION_REJECTED_DAYS = read_int(env, "RETENTION_REJECTED_DAYS", 30, minimum=0)
RETENTION_SLICE_ROWS = read_int(env, "RETENTION_SLICE_ROWS", 1000, minimum=1)

# /metrics: a Prometheus scraper sends `Authorization: Bearer <METRICS_TOKEN>`; staff logins
# may read it too. Unset: staff only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise environ.ImproperlyConfigured("METRICS_TOKEN: use at least 16 random characters.")
# prometheus_client reads this itself (zias/metrics.py); it is checked here so a wrong path
# stops start-up instead of losing the counts.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if not PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client turns its multiprocess mode on when the variable merely exists.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
elif not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise environ.ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR: {PROMETHEUS_MULTIPROC_DIR!r} is not a directory."
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = checked_time_zone(env)  # the school's zone; the database stores UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (excuse documents). Served only through views that check who may see them.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
# An excuse's attached document: at most this many bytes, and one of these types (checked
# by the file's first bytes, not its name).
EXCUSE_DOCUMENT_MAX_BYTES = read_int(env, "EXCUSE_DOCUMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=1)
EXCUSE_DOCUMENT_TYPES = read_list(env, "EXCUSE_DOCUMENT_TYPES", ["pdf", "jpeg", "png"])
if not EXCUSE_DOCUMENT_TYPES or set(EXCUSE_DOCUMENT_TYPES) - {"pdf", "jpeg", "png"}:
    raise environ.ImproperlyConfigured(
        "EXCUSE_DOCUMENT_TYPES: a comma-separated list of pdf, jpeg and png."
    )
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "zias.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"login": env.str("LOGIN_THROTTLE_RATE", default="10/min")},
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=read_int(env, "JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=read_int(env, "JWT_REFRESH_DAYS", 7, minimum=1)),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ZIAS API",
    "DESCRIPTION": "Attendance that takes itself: events, records, summaries and provisioning.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Production hardening; behind a TLS-terminating proxy set SECURE_PROXY_SSL=1.
_secure = not DEBUG
SESSION_COOKIE_SECURE = read_bool(env, "SESSION_COOKIE_SECURE", _secure)
CSRF_COOKIE_SECURE = read_bool(env, "CSRF_COOKIE_SECURE", _secure)
SECURE_SSL_REDIRECT = read_bool(env, "SECURE_SSL_REDIRECT", _secure)
SECURE_HSTS_SECONDS = read_int(env, "SECURE_HSTS_SECONDS", 31536000 if _secure else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = read_bool(env, "SECURE_HSTS_INCLUDE_SUBDOMAINS", _secure)
SECURE_HSTS_PRELOAD = read_bool(env, "SECURE_HSTS_PRELOAD", False)
if read_bool(env, "SECURE_PROXY_SSL", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /health is probed over plain HTTP by the container healthcheck.
SECURE_REDIRECT_EXEMPT = [r"^health/?$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
