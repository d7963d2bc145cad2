"""Every setting of ThingsNXT, read from the environment variable of the same name.

This module imports nothing from the application so that gunicorn.conf.py can
load it before gevent patches the worker: psycopg imported before the patch
blocks the whole worker on every query (docs/ARCHITECTURE.md, "Threads").
"""
import os


def _str(name, default):
    return os.environ.get(name, default)


def _int(name, default):
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _bool(name, default):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def database_url(raw, instance_path):
    """Normalise DATABASE_URL: PostgreSQL URLs use psycopg 3; empty means the SQLite default."""
    if not raw:
        return "sqlite:///" + os.path.join(instance_path, "thingsnxt.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


DEFAULT_SECRET_KEY = "dev-insecure-secret-key"
MIN_PRODUCTION_SECRET_LENGTH = 32


class Config:
    """Defaults for every setting; `Config.from_environment()` applies the environment."""

    # Core
    ENVIRONMENT = "development"
    SECRET_KEY = DEFAULT_SECRET_KEY
    DATABASE_URL = ""
    REDIS_URL = ""
    REDIS_KEY_PREFIX = "thingsnxt:"
    DB_POOL_SIZE = 10
    # FULL: a commit is on disk before it is answered; NORMAL may lose the last commits in a power cut (README)
    SQLITE_SYNCHRONOUS = "FULL"

    # Server (read by gunicorn.conf.py as well)
    HOST = "127.0.0.1"
    PORT = 8000
    WEB_CONCURRENCY = 1
    WORKER_CONNECTIONS = 1000
    TRUSTED_PROXIES = 0
    # What one client may hold of a worker (http/connection_guard.py): connections per address, seconds to send a request
    MAX_CONNECTIONS_PER_ADDRESS = 250
    REQUEST_HEADER_TIMEOUT = 20
    REQUEST_BODY_TIMEOUT = 30

    # Observability
    ACCESS_LOG = False
    METRICS_TOKEN = ""

    # Browser assets: served by this app from static/vendor/ (1), or from the CDN with SRI (0); http/vendor_assets.py says why
    SERVE_VENDOR_ASSETS = True

    # Device API
    MAX_BODY_BYTES = 16 * 1024
    MAX_BATCH_BODY_BYTES = 64 * 1024
    MAX_BATCH_RECORDS = 500
    LONG_POLL_MAX_SECONDS = 30
    BATCH_MAX_FUTURE_SECONDS = 300
    DEDUPE_WINDOW_SECONDS = 86400

    # Firmware updates (docs/OTA.md): the largest image accepted, and where images are kept (empty: instance/firmware/)
    FIRMWARE_MAX_BYTES = 4 * 1024 * 1024
    FIRMWARE_DIR = ""

    # Rate limits
    RATELIMIT_ENABLED = True
    RATELIMIT_DEFAULT = "100 per 60 seconds"
    RATELIMIT_DEVICE = "100 per 60 seconds"
    # Firmware download requests per device: a 1.5 MB image is 96 requests in 16 KiB chunks (docs/OTA.md)
    RATELIMIT_FIRMWARE = "600 per 60 seconds"
    RATELIMIT_AUTH_FAILURES = "30 per 60 seconds"
    RATELIMIT_PROVISIONING = "60 per 60 seconds"

    # MQTT transport (docs/MQTT.md): the broker's URL (empty: devices talk HTTP only) and the platform's own account on it
    MQTT_URL = ""
    MQTT_ADMIN_USER = "thingsnxt"
    MQTT_ADMIN_PASSWORD = ""
    # A TLS listener for devices (docs/MQTT.md "TLS"): its port (0: none) and its certificate (full chain) and key, in PEM
    MQTT_TLS_PORT = 0
    MQTT_TLS_CERTFILE = ""
    MQTT_TLS_KEYFILE = ""

    # Presence
    OFFLINE_TIMEOUT = 60
    PRESENCE_SWEEP_INTERVAL = 0

    # Device health: what the overview card flags
    HEALTH_WEAK_RSSI = -80
    HEALTH_LOW_HEAP_BYTES = 20_000

    # Notifications
    NOTIFICATION_COOLDOWN = 300
    # Per owner and kind, notifications past the first GROUP_AFTER within GROUP_WINDOW seconds fold into one summary (0: never)
    NOTIFICATION_GROUP_AFTER = 3
    NOTIFICATION_GROUP_WINDOW = 60

    # Alerts: how often one worker raises what time alone raises ("for N seconds", "no data")
    ALERT_CHECK_INTERVAL = 1

    # The demo of `make run`: its simulated device started and stopped with the server (gunicorn.conf.py),
    # and where seed-demo keeps that device's credentials for it (empty: instance/demo-device.json)
    DEMO_DEVICE = False
    DEMO_DEVICE_FILE = ""

    # History
    RETENTION_DAYS = 30
    RETENTION_PRUNE_INTERVAL = 3600
    RETENTION_PRUNE_CHUNK = 5000
    HISTORY_MAX_POINTS = 10000
    HISTORY_MAX_BUCKETS = 2000
    HISTORY_EXPORT_CHUNK = 5000

    # Webhooks (times in milliseconds where tests need them short)
    WEBHOOK_ALLOW_PRIVATE = False
    WEBHOOK_TIMEOUT = 10
    WEBHOOK_RETRY_WINDOW = 24 * 3600
    WEBHOOK_DISABLE_AFTER = 24 * 3600
    WEBHOOK_BACKOFF_INITIAL_MS = 5_000
    WEBHOOK_BACKOFF_MAX_MS = 3_600_000
    WEBHOOK_LEASE_MS = 60_000
    WEBHOOK_POLL_INTERVAL_MS = 1_000
    WEBHOOK_BATCH_SIZE = 10
    WEBHOOK_CONCURRENCY = 4
    WEBHOOK_LOG_RETENTION_DAYS = 7

    # Dashboard: sessions (cookies are Secure when this is https), login attempts, live streams
    PREFERRED_URL_SCHEME = "http"
    RATELIMIT_LOGIN = "10 per 60 seconds"
    # Wrong passwords per account (services/accounts/login_attempts.py): free ones, the longest wait after more, when the owner hears
    LOGIN_FREE_FAILURES = 5
    LOGIN_DELAY_MAX_SECONDS = 300
    LOGIN_NOTIFY_AFTER_FAILURES = 10
    LIVE_HEARTBEAT_SECONDS = 15

    # Reliability: how long a stopping worker lets requests finish; how long a Redis call may take
    GRACEFUL_TIMEOUT = 30
    REDIS_TIMEOUT = 2

    @classmethod
    def from_environment(cls):
        """A dict of every setting, each overridden by its environment variable when set."""
        settings = {}
        for name in dir(cls):
            if not name.isupper():
                continue
            default = getattr(cls, name)
            if isinstance(default, bool):
                settings[name] = _bool(name, default)
            elif isinstance(default, int):
                settings[name] = _int(name, default)
            else:
                settings[name] = _str(name, default)
        return settings


def check_production_settings(config):
    """Refuse to run in production with settings that are only safe on a developer's machine."""
    if config["ENVIRONMENT"] != "production":
        return
    if config["SECRET_KEY"] == DEFAULT_SECRET_KEY or len(config["SECRET_KEY"]) < MIN_PRODUCTION_SECRET_LENGTH:
        raise RuntimeError(
            f"ENVIRONMENT=production needs SECRET_KEY set to a random value of at least {MIN_PRODUCTION_SECRET_LENGTH} "
            "characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'): "
            "the default key would let anyone forge session cookies."
        )
