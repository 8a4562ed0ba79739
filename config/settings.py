"""Settings, all driven by the environment (SPEC §7).

DATABASE_URL   SQLite file db.sqlite3 when unset; postgres://… uses psycopg 3.
SECRET_KEY     required when DEBUG is off; a development key is used only with DEBUG on.
DEBUG          "1"/"true" turns it on. Unset means OFF: the service then refuses to start without
               SECRET_KEY and ALLOWED_HOSTS. `make run`, `make test` (tests/settings.py) and CI
               set DEBUG=1 themselves.
ALLOWED_HOSTS  comma-separated.
TARGETS_NOW    ISO-8601 instant that pins the service clock (targets.clock).
DATABASE_REPLICA_URL  optional read replica for the read endpoint (config.routers).
CACHE_URL      unset: the database cache (created by migrate); redis://host:port/db for Redis.
Production hardening (docs/security.md): SECURE_SSL_REDIRECT, BEHIND_PROXY, NUM_PROXIES,
SECURE_HSTS_SECONDS, SECURE_HSTS_PRELOAD, CSRF_TRUSTED_ORIGINS, TOKEN_THROTTLE_RATE, LOG_LEVEL.
"""

import importlib.util
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name):
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "[::1]"]

TARGETS_NOW = os.environ.get("TARGETS_NOW", "").strip() or None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "nested_admin",
    "simple_history",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "customers",
    "targets",
    "targets.events",
]
# The benchmark app (bench/) lives beside the product in a checkout and is not in the wheel.
if importlib.util.find_spec("bench") is not None:
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RequestGuardMiddleware",
    "config.notfound.ProjectNotFoundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"

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

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


def database_from_url(url):
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside a writer; IMMEDIATE takes the write lock when a transaction
        # starts, so two writers queue instead of failing half-way with "database is locked".
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = database_from_url(os.environ["DATABASE_REPLICA_URL"])
    DATABASE_ROUTERS = ["config.routers.ReadReplicaRouter"]

# PostgreSQL: the read path's fixed-shape queries (config/prepared.py) become prepared statements
# after this many executions on a kept connection; "off" turns that off (a PgBouncer in
# transaction mode before 1.21 cannot keep prepared statements).
PG_PREPARE_THRESHOLD = (
    None
    if os.environ.get("PG_PREPARE_THRESHOLD", "").lower() == "off"
    else int(os.environ.get("PG_PREPARE_THRESHOLD") or 2)
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (progress refresh after a large configuration change): django-tasks with its
# database backend, so a task is stored in the same transaction as the change that asks for it;
# `manage.py db_worker` runs them (`make run` starts one). A deployment on many machines can
# swap the backend (RQ, Celery) without touching the code that enqueues.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A configuration change touching at most this many customers is refreshed in the request.
REFRESH_INLINE_LIMIT = int(os.environ.get("REFRESH_INLINE_LIMIT", "2000"))
# Achievement events (docs/events.md): off only to measure what they cost (manage.py benchmark).
EVENTS_ENABLED = env_bool("EVENTS_ENABLED", default=True)
# Webhooks: URLs reaching loopback, private or link-local addresses are refused unless allowed
# (allowed with DEBUG, for development and local receivers; never by default in production).
WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=DEBUG)
WEBHOOK_TIMEOUT_SECONDS = int(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_RETRY_HOURS = int(os.environ.get("WEBHOOK_RETRY_HOURS", "24"))  # then a delivery is FAILED
# How often the periodic sweep looks for streaks dropped by a period's close (seconds).
STREAK_SWEEP_SECONDS = int(os.environ.get("STREAK_SWEEP_SECONDS", "300"))


def cache_from_url(url):
    """CACHE_URL: unset or `db` — the database cache (table `loyalty_cache`, created by
    `migrate`); `redis://…` / `rediss://…` — Django's Redis cache; `locmem://` — per process
    (tests of a single process only: throttles would count per worker)."""
    url = (url or "").strip()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url.startswith("locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if url in ("", "db"):
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "loyalty_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    raise ImproperlyConfigured(f"CACHE_URL: unsupported cache {url.split(':', 1)[0]!r}")


# Shared by every worker and server: throttles and any cross-request state count here.
CACHES = {"default": cache_from_url(os.environ.get("CACHE_URL"))}

# One limit for every body (docs/security.md): sized for 1,000 activities with attributes at their
# limit. config.middleware answers a bigger one with 413 before anything reads it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/customers/"
LOGOUT_REDIRECT_URL = "/staff/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "customers.authentication.ActorBasicAuthentication",
        "customers.authentication.ActorOAuth2Authentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["config.renderers.ORJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.renderers.LenientContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["config.parsers.SafeJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.envelope_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("TOKEN_THROTTLE_RATE", "60/min")},
    # Throttles key on the client address. Behind BEHIND_PROXY proxies (NUM_PROXIES, default 1)
    # the client is read from X-Forwarded-For; otherwise REMOTE_ADDR (0). Not None: DRF would then
    # key on the whole X-Forwarded-For, which any client can forge to get a fresh bucket.
    "NUM_PROXIES": int(os.environ.get("NUM_PROXIES") or 1) if env_bool("BEHIND_PROXY") else 0,
}

# Failed Basic-auth attempts (customers/throttling.py): per client address and per username, in
# fixed windows; past the limit a guess is a cheap 429 instead of a PBKDF2 verification.
AUTH_FAILURES_PER_ADDRESS = int(os.environ.get("AUTH_FAILURES_PER_ADDRESS") or 20)
AUTH_FAILURES_PER_USERNAME = int(os.environ.get("AUTH_FAILURES_PER_USERNAME") or 10)
AUTH_FAILURE_WINDOW_SECONDS = int(os.environ.get("AUTH_FAILURE_WINDOW_SECONDS") or 300)

OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("ACCESS_TOKEN_TTL_SECONDS", "3600")),
    "OAUTH2_VALIDATOR_CLASS": "customers.authentication.ActorOAuth2Validator",
    "SCOPES": {"read": "Read", "write": "Write"},
    "DEFAULT_SCOPES": ["read", "write"],
    # RFC 9700 (OAuth 2.0 Security BCP). Only the client-credentials grant is used; tokens are
    # stored as SHA-256 checksums (the clear token exists only in the response that issues it).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty milestones, targets and streaks API",
    "DESCRIPTION": "Reproduces GET /v3.1/users/{userId}/targetGroups and the APIs around it.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # How the schema presents the API (also what `check --deploy` sees): the gateway alias as a
    # second server instead of a duplicate of every operation, and the read path as documented
    # (see targets.api.schema.document_paths).
    "PREPROCESSING_HOOKS": ["targets.api.schema.document_paths"],
    "SERVERS": [
        {"url": "/", "description": "This service"},
        {"url": "/api_gateway/intouch-api-v3", "description": "The same API under the gateway path"},
    ],
    "ENUM_NAME_OVERRIDES": {
        "TargetEntityEnum": "targets.models.TargetEntity.values",
        "EventTypeEnum": "targets.events.models.EventType",
    },
}

# Production hardening: on by default when DEBUG is off; SECURE_SSL_REDIRECT can be turned off
# when a proxy terminates TLS and redirects itself (SECURE_PROXY_SSL_HEADER tells Django it did).
if not DEBUG:
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    if env_bool("BEHIND_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").strip().upper() or "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # 4xx answers are the API working as designed; only server errors are worth a log line.
        "django.request": {"level": "ERROR"},
        # oauthlib's DEBUG lines carry issued access tokens: never below INFO, whatever LOG_LEVEL.
        "oauthlib": {"level": LOG_LEVEL if LOG_LEVEL not in {"DEBUG", "NOTSET"} else "INFO"},
    },
}
