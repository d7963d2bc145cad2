"""The current state of a device: reported values, desired values of control pins, its version.

The version counts every change of stored state; it is the device's ETag and
what a long-poll waits on.
"""
from dataclasses import dataclass, field

from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import Device, DeviceState
from webapp.realtime import events
from webapp.services import sql, values
from webapp.services.clock import now_ms


@dataclass
class StateView:
    device_id: str
    version: int
    changed_ms: int | None
    reported: dict = field(default_factory=dict)
    control: dict = field(default_factory=dict)
    reported_ms: dict = field(default_factory=dict)

    @property
    def data(self):
        """What the device should apply: reported values, overridden by desired ones."""
        return {**self.reported, **self.control}

    @property
    def etag(self):
        return f"v{self.version}"

    def pending(self):
        """Control pins whose device has not yet reported the desired value."""
        return {
            key
            for key, desired in self.control.items()
            if key not in self.reported or not values.same_value(self.reported[key], desired)
        }


def read_state(device_id):
    """The device's state, in one query; None when there is no such device."""
    rows = db.session.execute(
        select(Device.state_version, Device.state_changed_ms, DeviceState.key, DeviceState.reported, DeviceState.reported_ms, DeviceState.desired)
        .select_from(Device)
        .outerjoin(DeviceState, DeviceState.device_id == Device.id)
        .where(Device.id == device_id)
    ).all()
    if not rows:
        return None
    view = StateView(device_id, rows[0].state_version, rows[0].state_changed_ms)
    for row in rows:
        if row.key is None:
            continue
        if row.reported is not None:
            view.reported[row.key] = values.decode(row.reported)
            view.reported_ms[row.key] = row.reported_ms
        if row.desired is not None:
            view.control[row.key] = values.decode(row.desired)
    return view


def set_desired(device_id, key, value):
    """Make `key` a control pin with `value` as desired, release waiting long-polls, tell dashboards."""
    now = now_ms()
    insert = sql.insert(DeviceState)
    db.session.execute(
        insert.values(device_id=device_id, key=key, desired=values.encode(value), desired_ms=now).on_conflict_do_update(
            index_elements=["device_id", "key"],
            set_={"desired": insert.excluded.desired, "desired_ms": insert.excluded.desired_ms},
        )
    )
    bump_version(device_id, now)
    view = read_state(device_id)
    db.session.commit()
    events.publish_state(view, changed={key: value}, source="desired")
    return view


def release_control(device_id, key):
    """Make `key` an ordinary key again: its value is what the device reports, as before it was a control pin."""
    now = now_ms()
    db.session.execute(
        update(DeviceState).where(DeviceState.device_id == device_id, DeviceState.key == key).values(desired=None, desired_ms=None)
    )
    bump_version(device_id, now)
    view = read_state(device_id)
    db.session.commit()
    events.publish_state(view, changed={key: view.data.get(key)}, source="desired")
    return view


def bump_version(device_id, now):
    db.session.execute(
        update(Device).where(Device.id == device_id).values(state_version=Device.state_version + 1, state_changed_ms=now)
    )


def wait_for_change(device_id, seen_version, timeout, broker):
    """The device's state once its version differs from `seen_version`, or after `timeout` seconds.

    Subscribes before reading, so a change committed in between is not missed;
    holds no database connection while it waits.
    """
    with broker.subscribe([events.device_channel(device_id)]) as subscription:
        view = read_state(device_id)
        db.session.commit()
        if view.version != seen_version:
            return view
        deadline = now_ms() + timeout * 1000
        while (remaining_ms := deadline - now_ms()) > 0:
            message = subscription.get(timeout=remaining_ms / 1000)
            if message is None:
                break
            _, event = message
            if event.get("type") == "state" and event.get("version") != seen_version:
                break
    view = read_state(device_id)
    db.session.commit()
    return view
