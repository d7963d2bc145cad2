"""Whether this server can do its work: the database answers, and Redis when one is configured.

Without the database nothing works (503). Without Redis the server still
serves, degraded: rate limits count per worker and live updates reach only
subscribers on the worker that published them.
"""
import logging

from flask import current_app
from sqlalchemy import text

from webapp.core.clock import iso_ms, now_ms
from webapp.extensions import db
from webapp.pubsub.broker import current_broker

log = logging.getLogger(__name__)


def health_report():
    database = _database_status()
    redis = _redis_status()
    if database != "ok":
        status = "unavailable"
    elif redis == "unavailable":
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, "database": database, "redis": redis, "time": iso_ms(now_ms())}


def _database_status():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        return "ok"
    except Exception:
        log.warning("health check: database unreachable", exc_info=True)
        db.session.rollback()
        return "unavailable"


def _redis_status():
    if not current_app.config["REDIS_URL"]:
        return "absent"
    # No warning here: the broker and the rate limits say once per outage that Redis is gone.
    return "ok" if current_broker().reachable() else "unavailable"
