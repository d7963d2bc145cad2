"""The events services publish after a commit, and the channels they go to.

Every event of a device goes to `device:<id>`; long-polls, the dashboard's
streams and webhooks subscribe there.
"""
from flask import current_app

from webapp.services.clock import iso_ms


def device_channel(device_id):
    return f"device:{device_id}"


def broker():
    return current_app.extensions["broker"]


def publish_state(view, changed, source):
    broker().publish(*state_message(view, changed, source))


def state_message(view, changed, source):
    """A report (source "device") or a toggle ("desired") set `changed`; `data` is the whole state after it."""
    return device_channel(view.device_id), {
        "type": "state",
        "device_id": view.device_id,
        "source": source,
        "changed": changed,
        "data": view.data,
        "pending": sorted(view.pending()),
        "timestamp": iso_ms(view.changed_ms),
    }


def status_message(device_id, status, at_ms):
    return device_channel(device_id), {"type": "status", "device_id": device_id, "status": status, "timestamp": iso_ms(at_ms)}


def publish_rule_denied(device_id, rule, reason, at_ms):
    broker().publish(
        device_channel(device_id),
        {"type": "rule_denied", "device_id": device_id, "rule": rule, "reason": reason, "timestamp": iso_ms(at_ms)},
    )


def publish_widgets_changed(device_id):
    """A device's widgets were added, edited or removed: open dashboards redraw them."""
    broker().publish(device_channel(device_id), {"type": "widgets", "device_id": device_id})


def user_channel(user_id):
    return f"user:{user_id}"


def publish_notification(user_id, notification):
    broker().publish(user_channel(user_id), {"type": "notification", **notification})


def publish_notification_muted(user_id, muted):
    """A repeat muted by the cooldown: `muted` is {id, device_id, kind, muted_count} of the notification it counts on."""
    broker().publish(user_channel(user_id), {"type": "notification_muted", **muted})


def publish_login_ended(user_id, login_id):
    """A login of `user_id` ended (logout): the live streams opened with it close."""
    broker().publish(user_channel(user_id), {"type": "login_ended", "login": login_id})


def ends_stream_of(event, login_id):
    """Whether `event` ends the login a stream was opened with (None: opened with an API token)."""
    return event.get("type") == "login_ended" and login_id is not None and event.get("login") == login_id


def publish_devices_changed(user_id):
    """The set of devices `user_id` owns changed: their open dashboards resubscribe."""
    broker().publish(user_channel(user_id), {"type": "devices", "user_id": user_id})
