"""Online and offline: any authenticated request marks a device online; a sweep marks it offline.

Each transition is made by one atomic UPDATE, so with any number of workers
exactly one request or sweep makes it and announces it: the sweep's UPDATE …
RETURNING lists the devices it took offline; the ingest writer's UPDATE that
marks devices seen writes a random claim id where it changes the status and
reads back which devices it took online (services/ingest/writer.py).
"""
from sqlalchemy import func, select, update

from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Device
from webapp.services import events

# The shortest offline_timeout the API accepts (schemas.DeviceUpdateIn), in seconds.
SHORTEST_API_TIMEOUT = 5
MIN_SWEEP_INTERVAL = 0.2


def mark_offline_stale_devices(now):
    """Mark offline every online device silent for longer than its timeout; the ids marked."""
    gone = dict(
        db.session.execute(
            update(Device)
            .where(Device.status == "online", Device.last_seen_ms + Device.offline_timeout * 1000 < now)
            .values(status="offline")
            .returning(Device.id, Device.last_seen_ms)
            .execution_options(synchronize_session=False)
        ).all()
    )
    events.emit(*(events.status_changed(device_id, "offline", now, last_seen_ms=last_seen) for device_id, last_seen in gone.items()))
    _restate_back_online(gone)
    return list(gone)


def note_transport(device_id, transport):
    """The device talks `transport` ("mqtt"): the dashboard says so."""
    # Every (re)connection says so (a fleet of them after a broker restart): no evaluation of the session's objects.
    db.session.execute(
        update(Device)
        .where(Device.id == device_id, Device.transport.is_distinct_from(transport))
        .values(transport=transport)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def mark_offline(device_id, now):
    """Mark one device offline at once (its MQTT session ended: its last will said so); whether this made the change."""
    last_seen = db.session.execute(
        update(Device)
        .where(Device.id == device_id, Device.status == "online")
        .values(status="offline")
        .returning(Device.last_seen_ms)
        .execution_options(synchronize_session=False)
    ).scalar()
    if last_seen is None:
        db.session.commit()
        return False
    events.emit(events.status_changed(device_id, "offline", now, last_seen_ms=last_seen))
    _restate_back_online([device_id])
    return True


def _restate_back_online(device_ids):
    """Set right the dashboards of devices that came back while the sweep announced them offline.

    A request may commit "online" just after the sweep committed "offline" and
    publish before the sweep does; the last status event must be "online".
    Read after publishing: a request committing later publishes after us.
    """
    if not device_ids:
        return
    back = db.session.scalars(select(Device.id).where(Device.id.in_(list(device_ids)), Device.status == "online")).all()
    events.emit(*(events.status_restated(device_id, "online", now_ms()) for device_id in back))


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
