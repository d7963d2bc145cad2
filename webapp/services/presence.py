"""Online and offline: any authenticated request marks a device online; a sweep marks it offline.

Each transition is made by one atomic UPDATE, so with any number of workers
exactly one request or sweep makes it and announces it: the sweep's UPDATE …
RETURNING lists the devices it took offline, and a request coming online
writes a random claim id that it alone reads back.
"""
import logging
import secrets

from sqlalchemy import BigInteger, case, func, literal, select, update

from webapp.extensions import db
from webapp.models import Device
from webapp.realtime import events
from webapp.services.clock import now_ms
from webapp.services import notifications, webhooks

log = logging.getLogger(__name__)

# The shortest offline_timeout the API accepts (schemas.DeviceUpdateIn), in seconds.
SHORTEST_API_TIMEOUT = 5
MIN_SWEEP_INTERVAL = 0.2


def _claim_id():
    return secrets.randbits(62) + 1


def mark_seen(view, now, state_changed=False):
    """Record a request from the device in the caller's transaction; True if it just came online.

    `state_changed` also moves the state version, which `view` then shows.
    """
    claim = _claim_id()
    values = {
        "last_seen_ms": now,
        "status": "online",
        "presence_claim": case((Device.status == "online", Device.presence_claim), else_=claim),
    }
    if state_changed:
        values.update(state_version=Device.state_version + 1, state_changed_ms=now)
    row = db.session.execute(
        update(Device)
        .where(Device.id == view.device_id)
        .values(values)
        .returning(Device.presence_claim, Device.state_version, Device.state_changed_ms)
        .execution_options(synchronize_session=False)
    ).one()
    view.version, view.changed_ms = row.state_version, row.state_changed_ms
    went_online = row.presence_claim == claim
    if went_online:
        webhooks.enqueue_status([view.device_id], "online", now)
    return went_online


def mark_offline_stale_devices(now):
    """Mark offline every online device silent for longer than its timeout; the ids marked."""
    gone = dict(
        db.session.execute(
            update(Device)
            # `now` typed BIGINT: PostgreSQL would otherwise bind it as the INTEGER of offline_timeout.
            .where(Device.status == "online", Device.last_seen_ms < literal(now, BigInteger) - Device.offline_timeout * 1000)
            .values(status="offline")
            .returning(Device.id, Device.last_seen_ms)
            .execution_options(synchronize_session=False)
        ).all()
    )
    webhooks.enqueue_status(gone, "offline", now, last_seen_ms=gone)
    db.session.commit()
    for device_id in gone:
        announce(device_id, "offline", now)
    _republish_back_online(gone)
    return list(gone)


def _republish_back_online(device_ids):
    """Set right the dashboards of devices that came back while the sweep announced them offline.

    A request may commit "online" just after the sweep committed "offline" and
    publish before the sweep does; the last status event must be "online".
    Read after publishing: a request committing later publishes after us.
    """
    if not device_ids:
        return
    back = db.session.scalars(select(Device.id).where(Device.id.in_(list(device_ids)), Device.status == "online")).all()
    db.session.commit()
    for device_id in back:
        events.publish_status(device_id, "online", now_ms())


def announce(device_id, status, now):
    """Tell dashboards and the owner that the device went `status` (after the transition committed)."""
    events.publish_status(device_id, status, now)
    text = "came online" if status == "online" else "went offline"
    notifications.notify_owner(device_id, status, text, now)


def sweep_interval(config):
    """Seconds between sweeps: a fifth of the smallest timeout, so offline shows by 1.2 × timeout.

    Never more than a fifth of the shortest timeout the API accepts: a device
    created or changed on another worker with that timeout is then swept in
    time without this worker hearing of it.
    """
    if config["PRESENCE_SWEEP_INTERVAL"] > 0:
        return config["PRESENCE_SWEEP_INTERVAL"]
    smallest = db.session.scalar(select(func.min(Device.offline_timeout)))
    db.session.commit()
    return max(MIN_SWEEP_INTERVAL, min(smallest or SHORTEST_API_TIMEOUT, SHORTEST_API_TIMEOUT) / 5)
