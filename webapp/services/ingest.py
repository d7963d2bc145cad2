"""Accepting telemetry: the one path every write endpoint takes.

A request is authenticated, rate limited and checked against the device's
rules before anything is written; then its readings go to history, the
state takes what is newer than it holds, and presence and the state version
move, all in one transaction. Events go out only after the commit.
"""
import threading
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from webapp.errors import InvalidRequest
from webapp.extensions import db
from webapp.models import DeviceState, Reading
from webapp.realtime import events
from webapp.services import devices, presence, rate_limits, rules, sql, state, values
from webapp.services.clock import now_ms, parse_timestamp_ms


@dataclass
class IngestResult:
    state: state.StateView
    timestamp_ms: int
    accepted: int
    duplicates: int


class _ReadingClock:
    """Strictly increasing timestamps per device within this process.

    History is keyed by (device, key, ts); two live posts in the same
    millisecond must not collide, so the second gets the next millisecond.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._last = {}

    def next(self, device_id):
        now = now_ms()
        with self._lock:
            ts = max(now, self._last.get(device_id, 0) + 1)
            self._last[device_id] = ts
        return ts


_clock = _ReadingClock()


def ingest_telemetry(token, data, source_ip, device_id=None):
    """Store one live reading of `data`; the device's state afterwards."""
    device = admit_device(token, device_id, [data], source_ip)
    ts = _clock.next(device.id)
    return _store(device, [(ts, data)], now=ts)


def ingest_batch(token, device_id, records, source_ip):
    """Store readings a device buffered offline; idempotent on (device, ts).

    `records` are (ts as sent, data) pairs. A record whose ts the device
    already has in history (or earlier in this batch) is a duplicate.
    """
    timed = [(_record_ms(ts), data) for ts, data in records]
    device = admit_device(token, device_id, [data for _, data in timed], source_ip)
    fresh = _drop_known(device.id, timed)
    return _store(device, fresh, now=now_ms(), duplicates=len(timed) - len(fresh))


def admit_device(token, device_id, readings, source_ip):
    """The authenticated device, once its rules and its rate limit let this request through."""
    device = devices.authenticate_device(token, device_id)
    over_limit = rate_limits.count_device_request(device.id)
    rules.enforce_rules(device, readings, source_ip)
    if over_limit is not None:
        raise over_limit
    return device


def _record_ms(ts):
    try:
        ms = parse_timestamp_ms(ts)
    except (ValueError, OverflowError):
        raise InvalidRequest(f"records[].ts '{ts}' is neither ISO-8601 nor Unix seconds.") from None
    latest_allowed = now_ms() + current_app.config["BATCH_MAX_FUTURE_SECONDS"] * 1000
    if not 0 <= ms <= latest_allowed:
        raise InvalidRequest(f"records[].ts '{ts}' is before 1970 or in the future.")
    return ms


def _drop_known(device_id, timed):
    """The records whose ts is neither in the device's history nor earlier in `timed`."""
    # Through the device's keys (each one has a state row), so the lookup seeks the
    # (device, key, ts) primary key instead of scanning the device's whole history.
    device_keys = select(DeviceState.key).where(DeviceState.device_id == device_id)
    seen = set(
        db.session.scalars(
            select(Reading.ts_ms)
            .distinct()
            .where(Reading.device_id == device_id, Reading.key.in_(device_keys), Reading.ts_ms.in_({ts for ts, _ in timed}))
        )
    )
    fresh = []
    for ts, data in timed:
        if ts not in seen:
            seen.add(ts)
            fresh.append((ts, data))
    return fresh


def _store(device, timed, now, duplicates=0):
    readings = [
        {"device_id": device.id, "key": key, "ts_ms": ts, "num": values.numeric(value), "value": values.encode(value)}
        for ts, data in timed
        for key, value in data.items()
    ]
    if readings:
        db.session.execute(sql.insert(Reading).on_conflict_do_nothing(), readings)
    view = state.read_state(device.id)
    changed = _apply_reported(view, timed)
    went_online = presence.mark_seen(view, now, state_changed=bool(changed))
    db.session.commit()

    if went_online:
        presence.announce(device.id, "online", now)
    if changed:
        events.publish_state(view, changed=changed, source="device")
    newest = max((ts for ts, _ in timed), default=now)
    return IngestResult(view, newest, accepted=len(timed), duplicates=duplicates)


def _apply_reported(view, timed):
    """Write each key's newest reading into the state where it is newer than what is held.

    Updates `view` to match and returns the keys whose value changed.
    """
    newest = {}
    for ts, data in sorted(timed, key=lambda record: record[0]):
        for key, value in data.items():
            newest[key] = (ts, value)
    rows, changed = [], {}
    for key, (ts, value) in newest.items():
        held_ms = view.reported_ms.get(key)
        if held_ms is not None and held_ms > ts:
            continue
        rows.append({"device_id": view.device_id, "key": key, "reported": values.encode(value), "reported_ms": ts})
        if key not in view.reported or values.encode(view.reported[key]) != values.encode(value):
            changed[key] = value
        view.reported[key] = value
        view.reported_ms[key] = ts
    if rows:
        insert = sql.insert(DeviceState)
        db.session.execute(
            insert.on_conflict_do_update(
                index_elements=["device_id", "key"],
                set_={"reported": insert.excluded.reported, "reported_ms": insert.excluded.reported_ms},
                # A concurrent newer report wins over this one.
                where=(DeviceState.reported_ms.is_(None)) | (DeviceState.reported_ms <= insert.excluded.reported_ms),
            ),
            rows,
        )
    return changed
