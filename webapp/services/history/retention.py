"""Retention: a device's history older than its retention period is deleted, a bounded chunk at a time.

A device keeps `retention_days` of history, or RETENTION_DAYS when it sets
none (0 keeps it forever): its readings, and what else it leaves behind
without end — alert events, finished commands, notifications about it
(notifications about no one device keep RETENTION_DAYS).
Each chunk is one DELETE of at most RETENTION_PRUNE_CHUNK rows (readings:
of one key) in a transaction of its own, so SQLite's writer is never held
for long; and deleting what is past a cutoff is idempotent, so prunes that
run at once only leave each other less to do.
"""
from flask import current_app
from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import AlertEvent, Command, Device, Notification, Reading

# Rows of a device's history beside its readings: (model, when each happened, only those matching). Their ids
# grow with time, so the oldest come first in the (device_id, id) order the deletes walk.
RECORDS = (
    (AlertEvent, AlertEvent.at_ms, ()),
    (Command, Command.created_ms, (Command.status.in_(("answered", "timed_out")),)),
    (Notification, Notification.created_ms, ()),
)

DAY_MS = 86_400_000


def prune_expired_history(now, pause=lambda: None):
    """Delete every device's history past its retention; how many rows went. `pause()` runs between chunks."""
    default_days = current_app.config["RETENTION_DAYS"]
    chunk = max(1, current_app.config["RETENTION_PRUNE_CHUNK"])
    policies = db.session.execute(select(Device.id, Device.retention_days)).all()
    db.session.commit()
    deleted = 0
    for device_id, device_days in policies:
        days = device_days if device_days is not None else default_days
        if days <= 0:
            continue
        cutoff = now - days * DAY_MS
        for key in _keys_with_readings_before(device_id, cutoff):
            deleted += _delete_before(device_id, key, cutoff, chunk, pause)
        for model, happened, only in RECORDS:
            deleted += _delete_records_before(model, happened, only, device_id, cutoff, chunk, pause)
    if default_days > 0:
        # Notifications about no one device (a grouped summary, the account's own) keep the default's days.
        deleted += _delete_records_before(Notification, Notification.created_ms, (), None, now - default_days * DAY_MS, chunk, pause)
    return deleted


def _keys_with_readings_before(device_id, cutoff):
    """The device's keys whose oldest reading is before `cutoff`: one index seek per key, not a scan."""
    key = ""
    while True:
        oldest = db.session.execute(
            select(Reading.key, Reading.ts_ms)
            .where(Reading.device_id == device_id, Reading.key > key)
            .order_by(Reading.key, Reading.ts_ms)
            .limit(1)
        ).first()
        db.session.commit()
        if oldest is None:
            return
        key = oldest.key
        if oldest.ts_ms < cutoff:
            yield key


def _delete_before(device_id, key, cutoff, chunk, pause):
    series = (Reading.device_id == device_id, Reading.key == key)
    deleted = 0
    while True:
        # Delete below the (chunk+1)-th oldest expired reading, or below the cutoff when fewer remain.
        boundary = (
            select(Reading.ts_ms).where(*series, Reading.ts_ms < cutoff).order_by(Reading.ts_ms).offset(chunk).limit(1).scalar_subquery()
        )
        count = db.session.execute(
            delete(Reading).where(*series, Reading.ts_ms < func.coalesce(boundary, cutoff)).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        deleted += count
        pause()
        if count < chunk:
            return deleted


def _delete_records_before(model, happened, only, device_id, cutoff, chunk, pause):
    deleted = 0
    while True:
        oldest = select(model.id).where(model.device_id == device_id, happened < cutoff, *only).order_by(model.id).limit(chunk)
        count = db.session.execute(delete(model).where(model.id.in_(oldest)).execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        deleted += count
        pause()
        if count < chunk:
            return deleted
