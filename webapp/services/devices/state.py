"""The current state of a device: reported values, and desired values of control pins.

The ETag is a hash of what the device would receive, so it changes exactly
when that does, on any worker, with nothing extra to store.
"""
import hashlib
from dataclasses import dataclass, field

import orjson
from sqlalchemy import update

from webapp.core import sql, values
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import DeviceState
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import device_channel
from webapp.services import events
from webapp.services.devices import commands
from webapp.services.directory import directory

# What changes a device's answer besides its readings: a state (unless it holds what the device has), a command, an offer.
WAKING_EVENTS = frozenset(("state", "command", "ota_offer"))
READ_STATES = "SELECT device_id, key, reported, reported_ms, desired, desired_ms FROM device_state WHERE device_id IN :ids"


@dataclass
class StateView:
    device_id: str
    reported: dict = field(default_factory=dict)
    control: dict = field(default_factory=dict)
    reported_ms: dict = field(default_factory=dict)
    changed_ms: int | None = None
    # Commands waiting for the device, as it gets them (services/devices/commands.py); only where an answer carries them.
    commands: list = field(default_factory=list)
    # The update on offer (services/ota/updates.py `offer`); only where an answer carries it.
    ota: dict | None = None

    @property
    def data(self):
        """What the device should apply: reported values, overridden by desired ones."""
        return {**self.reported, **self.control}

    @property
    def etag(self):
        """Changes when what the device would receive does: its state, the commands waiting for it, the update on offer."""
        tag = etag_of(self.data)
        if self.commands:
            tag += "-c" + ".".join(str(command["id"]) for command in self.commands)
        if self.ota is not None:
            tag += "-u" + self.ota["sha256"][:16]
        return tag

    def pending(self):
        """Control pins whose device has not yet reported the desired value."""
        return {
            key
            for key, desired in self.control.items()
            if key not in self.reported or not values.same_value(self.reported[key], desired)
        }


def etag_of(data):
    return hashlib.blake2b(orjson.dumps(data, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()


def read_states(connection, device_ids):
    """StateViews of these devices in one query: {device_id: StateView} (devices with no state are absent)."""
    views = {}
    if not device_ids:
        return views
    rows = sql.DriverCursor(connection).execute(READ_STATES, {"ids": sorted(set(device_ids))}).fetchall()
    for device_id, key, reported, reported_ms, desired, desired_ms in rows:
        view = views.get(device_id) or views.setdefault(device_id, StateView(device_id))
        if reported is not None:
            view.reported[key] = values.decode(reported)
            view.reported_ms[key] = reported_ms
        if desired is not None:
            view.control[key] = values.decode(desired)
        changed = max(reported_ms or 0, desired_ms or 0) or None
        if changed is not None and (view.changed_ms is None or changed > view.changed_ms):
            view.changed_ms = changed
    return views


def read_state(device_id, with_commands=False):
    """The device's state, read through the request's session; `with_commands`: with the commands waiting
    for it, which count as delivered from then on (the caller answers the device with them)."""
    view = read_states(db.session.connection(), [device_id]).get(device_id) or StateView(device_id)
    if with_commands and directory().may_have(device_id, "commands"):
        view.commands = commands.waiting_for(device_id)
    return view


def set_desired(device_id, key, value):
    """Make `key` a control pin with `value` as desired, release waiting long-polls, tell dashboards."""
    insert = sql.insert(DeviceState)
    db.session.execute(
        insert.values(device_id=device_id, key=key, desired=values.encode(value), desired_ms=now_ms()).on_conflict_do_update(
            index_elements=["device_id", "key"],
            set_={"desired": insert.excluded.desired, "desired_ms": insert.excluded.desired_ms},
        )
    )
    view = read_state(device_id)
    events.emit(events.desired_changed(view, {key: value}))
    return view


def release_control(device_id, key):
    """Make `key` an ordinary key again: its value is what the device reports, as before it was a control pin."""
    db.session.execute(
        update(DeviceState).where(DeviceState.device_id == device_id, DeviceState.key == key).values(desired=None, desired_ms=None)
    )
    view = read_state(device_id)
    events.emit(events.desired_changed(view, {key: view.data.get(key)}))
    return view


def wait_for_change(device_id, seen_etag, timeout, read_view):
    """The device's view, as `read_view(device_id)` gives what its answer carries, once its ETag differs from
    `seen_etag`, or after `timeout` seconds, or at once when the worker begins to shut down. A state change, a
    command sent or a new offer (services/events.py) makes it read again.

    Subscribes before reading, so a change committed in between is not
    missed; holds no database connection while it waits.
    """
    with current_broker().subscribe([device_channel(device_id)]) as subscription:
        view = read_view(device_id)
        db.session.commit()
        deadline = now_ms() + timeout * 1000
        while view.etag == seen_etag and (remaining_ms := deadline - now_ms()) > 0:
            message = subscription.get(timeout=remaining_ms / 1000)
            if message is None:
                break
            event = message[1]
            if event.get("type") == "shutdown":
                break
            if event.get("type") in WAKING_EVENTS and (event["type"] != "state" or etag_of(event["data"]) != etag_of(view.data)):
                view = read_view(device_id)
                db.session.commit()
    return view
