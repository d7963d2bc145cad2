"""Changes of a device's control pins since it was last told them: ThingsBoard's shared attribute updates.

Our own poll hands the device an ETag, so nothing changed between two polls
is missed. ThingsBoard's `attributes/updates` long-poll has none: it answers
the changes made while it waits. Each worker therefore remembers what it
last told each device of its control pins (by that poll or by the
attribute request that devices make first), and the next poll answers a
change made in between at once. A device whose polls land on another worker
gets only what changes while it waits there, as from ThingsBoard itself.
"""
import threading
from collections import OrderedDict

from webapp.core import values
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import device_channel
from webapp.services.devices.state import read_state

# Devices remembered per worker; the oldest told is forgotten first (it then gets only changes made while it waits).
REMEMBERED = 100_000

_told = OrderedDict()
_lock = threading.Lock()


def tell(device_id, control):
    """Remember that the device was told these control pins' values."""
    with _lock:
        _told[device_id] = {key: values.encode(value) for key, value in control.items()}
        _told.move_to_end(device_id)
        while len(_told) > REMEMBERED:
            _told.popitem(last=False)


def wait_for_changes(device_id, timeout):
    """({pin: new desired value}, [pins no longer controlled]) against what the device was last told, at once
    when they differ already, else once they do within `timeout` seconds; None when nothing changed (or
    the worker begins to stop). What is answered counts as told."""
    with current_broker().subscribe([device_channel(device_id)]) as subscription:
        view = read_state(device_id)
        db.session.commit()
        with _lock:
            told = _told.get(device_id)
        if told is None:
            tell(device_id, view.control)
            told = _told[device_id]
        deadline = now_ms() + timeout * 1000
        while True:
            changed = {key: value for key, value in view.control.items() if told.get(key) != values.encode(value)}
            released = sorted(set(told) - set(view.control))
            if changed or released:
                tell(device_id, view.control)
                return changed, released
            remaining_ms = deadline - now_ms()
            message = subscription.get(timeout=remaining_ms / 1000) if remaining_ms > 0 else None
            if message is None or message[1].get("type") == "shutdown":
                return None
            if message[1].get("type") == "state" and message[1].get("source") == "desired":
                view = read_state(device_id)
                db.session.commit()
