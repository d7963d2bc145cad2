"""ThingsNXT: an IoT platform for ESP32 devices. `create_app` puts it together; docs/ARCHITECTURE.md says how."""
import os

from flask import Flask
from sqlalchemy import event

from webapp import api, apidocs, auth, cli, dashboard, device_api, monitoring, realtime, transports
from webapp.config import Config, check_production_settings, database_url
from webapp.device_api.fast_path import TelemetryFastPath
from webapp.extensions import db, migrate, sock
from webapp.http import observe, path_ids, pipeline, rate_limiting, vendor_assets
from webapp.http.errors import register_error_handlers
from webapp.http.json_provider import OrjsonProvider
from webapp.http.request_log import configure_logging
from webapp.http.sessions import CookieSessions
from webapp.http.uploads import UploadRequest
from webapp.pubsub.broker import create_broker
from webapp.services.directory import DeviceDirectory
from webapp.services.ingest.writer import IngestWriter


def create_app(overrides=None, *, telemetry_fast_path=False):
    """The application: settings from the environment, then `overrides` (tests pass theirs).

    `telemetry_fast_path` (the server's app, wsgi.py) answers the busiest device routes ahead of
    Flask's dispatch: webapp/device_api/fast_path.py.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.json = OrjsonProvider(app)
    app.request_class = UploadRequest
    app.session_interface = CookieSessions()
    app.config.update(Config.from_environment())
    app.config.update(overrides or {})
    check_production_settings(app.config)
    _derive_settings(app)
    os.makedirs(app.instance_path, exist_ok=True)
    configure_logging()

    db.init_app(app)
    with app.app_context():
        _tune_database(db.engine, app.config["SQLITE_SYNCHRONOUS"])
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    sock.init_app(app)
    app.extensions["broker"] = create_broker(app.config)
    app.extensions["device_directory"] = DeviceDirectory(app.extensions["broker"])
    app.extensions["ingest_writer"] = IngestWriter(app)

    for blueprint in (device_api.bp, transports.thingsboard.bp, transports.blynk.bp, api.bp, apidocs.bp, monitoring.bp):
        app.register_blueprint(blueprint)
    auth.init_app(app)
    dashboard.init_app(app)
    realtime.init_app(app)
    # After the blueprints: the limits apply to what they registered.
    rate_limiting.init_app(app)
    observe.init_app(app)
    path_ids.init_app(app)
    register_error_handlers(app)
    vendor_assets.init_app(app)
    cli.register(app)
    pipeline.install(app, TelemetryFastPath if telemetry_fast_path else None)
    return app


def _derive_settings(app):
    config = app.config
    config["SQLITE_SYNCHRONOUS"] = config["SQLITE_SYNCHRONOUS"].strip().upper()
    if config["SQLITE_SYNCHRONOUS"] not in ("FULL", "NORMAL"):
        raise RuntimeError("SQLITE_SYNCHRONOUS is FULL (the default: every answered write survives a power cut) or NORMAL.")
    url = database_url(config["DATABASE_URL"], app.instance_path)
    config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        # SQLite calls block the whole gevent worker: one connection, so
        # transactions queue cooperatively for it instead of busy-waiting in C.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_size": 1,
            "max_overflow": 0,
            "pool_timeout": 30,
            "connect_args": {"check_same_thread": False, "timeout": 30},
        }
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_size": config["DB_POOL_SIZE"],
            "max_overflow": config["DB_POOL_SIZE"],
            "pool_pre_ping": True,
            "pool_timeout": 10,
        }
    config["MAX_CONTENT_LENGTH"] = max(config["MAX_BODY_BYTES"], config["MAX_BATCH_BODY_BYTES"])
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_SECURE"] = config["PREFERRED_URL_SCHEME"] == "https"


def _tune_database(engine, synchronous):
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection, _record):
        cursor = connection.cursor()
        # WAL lets readers run beside the writer. FULL syncs the WAL at every commit, so what was
        # answered 2xx survives a power cut; NORMAL syncs only at checkpoints and may lose the last
        # commits (never corrupt). The ingest writer's group commit makes FULL one fsync per batch.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 32 MiB of page cache (default 2 MiB) keeps the state and readings pages of a fleet's
        # recent writes in memory: ingest measured +11% (bench/ingest_bench.py, 1,000 devices).
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.close()
