"""Whether this server can do its work: the database answers."""
import logging

from sqlalchemy import text

from webapp.extensions import db
from webapp.services.clock import iso_ms, now_ms

log = logging.getLogger(__name__)


def health_report():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        database = "ok"
    except Exception:
        log.warning("health check: database unreachable", exc_info=True)
        db.session.rollback()
        database = "unavailable"
    return {"status": "ok" if database == "ok" else "unavailable", "database": database, "time": iso_ms(now_ms())}
