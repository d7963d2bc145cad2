"""Online and offline: any authenticated request marks a device online; a sweep marks it offline.

Each transition is made by one atomic UPDATE, so with any number of workers
exactly one request or sweep makes it and announces it: the sweep's UPDATE …
RETURNING lists the devices it took offline; the ingest writer's UPDATE that
marks devices seen writes a random claim id where it changes the status and
reads back which devices it took online (services/ingest_writer.py).
"""
import logging

from sqlalchemy import func, select, update

from webapp.extensions import db
from webapp.models import Device
from webapp.realtime import events
from webapp.services import notifications

log = logging.getLogger(__name__)


def mark_offline_stale_devices(now):
    """Mark offline every online device silent for longer than its timeout; the ids marked."""
    gone = db.session.execute(
        update(Device)
        .where(Device.status == "online", Device.last_seen_ms + Device.offline_timeout * 1000 < now)
        .values(status="offline")
        .returning(Device.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    announce(gone, "offline", now)
    return gone


def announce(device_ids, status, now):
    """Tell dashboards and owners that these devices went `status` (after the transitions committed)."""
    if not device_ids:
        return
    events.broker().publish_many([events.status_message(device_id, status, now) for device_id in device_ids])
    text = "came online" if status == "online" else "went offline"
    notifications.notify_owners(status, {device_id: text for device_id in device_ids}, now)


def sweep_interval(config):
    """Seconds between sweeps: a fifth of the smallest timeout, so offline shows by 1.2 × timeout."""
    if config["PRESENCE_SWEEP_INTERVAL"] > 0:
        return config["PRESENCE_SWEEP_INTERVAL"]
    smallest = db.session.scalar(select(func.min(Device.offline_timeout))) or config["OFFLINE_TIMEOUT"]
    db.session.commit()
    return max(0.5, min(smallest, config["OFFLINE_TIMEOUT"]) / 5)
