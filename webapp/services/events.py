"""Domain events: what happened to a device or a user, told to the rest of the platform in one call.

An event says everything that follows from it: the message live subscribers
get (dashboards, long-polls), the webhook deliveries it queues (the outbox)
and the notification its owner gets. `emit(*events)` is the one way a
service tells of a change it made in the session: it writes the outbox rows
in the same transaction, commits, then wakes the webhook delivery, publishes
on the broker and notifies owners. A change and its announcement therefore
commit together or not at all, and nobody hears of a change that was rolled
back.

The ingest writer (services/ingest/writer.py) commits many requests at once
on a connection of its own and announces from a thread of its own, so it
calls the two halves, `record` and `announce`, itself.
"""
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from webapp.core import values
from webapp.core.clock import iso_ms, now_ms
from webapp.extensions import db
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import device_channel, user_channel
from webapp.pubsub.mqtt import device_topic, platform_connection
from webapp.services import notifications, outbox
from webapp.services.directory import directory

STATUS_NOTICES = {"online": "came online", "offline": "went offline"}
# An alert's notification kind (each has its own cooldown) and how its text begins.
ALERT_NOTICES = {"raised": ("alert", "alert"), "cleared": ("alert_cleared", "alert cleared")}


# Not frozen: a frozen dataclass sets each field through object.__setattr__, three times the cost
# of making one, and the ingest writer makes one for every request.
@dataclass(slots=True)
class Event:
    channel: str
    message: dict
    device_id: str | None = None
    at_ms: int | None = None
    # The webhook event this queues for the device's subscribed webhooks; its payloads are built
    # only when one subscribes (most devices have none, and telemetry is the hot path).
    webhook: str | None = None
    webhook_payloads: Callable[[], list] | None = None
    # The notification kind and text ("<device name> <text>") for the device's owner.
    notice: str | None = None
    notice_text: str | None = None
    # What the device is told over MQTT, retained on devices/<id>/<leaf> (docs/MQTT.md), as (leaf, payload):
    # its state after a toggle ("state"), the update it is offered ("ota"; None once none is).
    device_message: tuple[str, dict | None] | None = None


def readings_stored(view, records):
    """A device's readings were stored: `records` are (ts_ms, data) pairs, `view` its state after them."""
    changed = {key: value for _, data in sorted(records, key=lambda record: record[0]) for key, value in data.items()}
    return Event(
        device_channel(view.device_id),
        _state_message(view, changed, "device"),
        device_id=view.device_id,
        webhook="telemetry",
        webhook_payloads=lambda: [
            {"event": "telemetry", "device_id": view.device_id, "timestamp": iso_ms(ts), "data": data} for ts, data in records
        ],
    )


def desired_changed(view, changed):
    """A person or the API set control pins (`changed`); `view` is the device's state after it."""
    return Event(
        device_channel(view.device_id),
        _state_message(view, changed, "desired"),
        device_id=view.device_id,
        device_message=("state", {"data": view.data, "timestamp": iso_ms(view.changed_ms)}),
    )


def status_changed(device_id, status, at_ms, last_seen_ms=None):
    """A device went `online` or `offline` (each transition is claimed once, services/devices/presence.py)."""
    return Event(
        device_channel(device_id),
        _status_message(device_id, status, at_ms),
        device_id=device_id,
        at_ms=at_ms,
        webhook=status,
        webhook_payloads=lambda: [
            {"event": status, "device_id": device_id, "timestamp": iso_ms(at_ms), "status": status, "last_seen": iso_ms(last_seen_ms or at_ms)}
        ],
        notice=status,
        notice_text=STATUS_NOTICES[status],
    )


def transport_changed(device_id, transport, at_ms):
    """A device was seen over another transport than before ("http" or "mqtt"): dashboards relabel it."""
    return Event(device_channel(device_id), {"type": "transport", "device_id": device_id, "transport": transport, "timestamp": iso_ms(at_ms)}, device_id=device_id)


def status_restated(device_id, status, at_ms):
    """Dashboards are told a device's status again, to set right an announcement that raced another."""
    return Event(device_channel(device_id), _status_message(device_id, status, at_ms), device_id=device_id)


def rule_denied(device_id, rule, reason, at_ms):
    """A security rule refused a device's request."""
    return Event(
        device_channel(device_id),
        {"type": "rule_denied", "device_id": device_id, "rule": rule, "reason": reason, "timestamp": iso_ms(at_ms)},
        device_id=device_id,
        at_ms=at_ms,
        webhook="rule_denied",
        webhook_payloads=lambda: [{"event": "rule_denied", "device_id": device_id, "timestamp": iso_ms(at_ms), "rule": rule, "reason": reason}],
        notice="rule_denied",
        notice_text=f"was denied by rule '{rule}': {reason}",
    )


def alert_changed(device_id, rule_id, kind, description, value, at_ms):
    """An alert rule of a device was `raised` or `cleared` (`kind`) by a reading of `value`, or raised for want of one (None)."""
    webhook = f"alert_{kind}"
    notice, opening = ALERT_NOTICES[kind]
    reading = "" if value is None else f" (reads {values.encode(value)})"
    return Event(
        device_channel(device_id),
        {"type": "alert", "device_id": device_id, "rule_id": rule_id, "alert": kind, "description": description, "value": value, "timestamp": iso_ms(at_ms)},
        device_id=device_id,
        at_ms=at_ms,
        webhook=webhook,
        webhook_payloads=lambda: [
            {"event": webhook, "device_id": device_id, "timestamp": iso_ms(at_ms), "rule_id": rule_id, "condition": description, "value": value}
        ],
        notice=notice,
        notice_text=f"{opening}: {description}{reading}",
    )


def alert_rules_changed(device_id):
    """A device's alert rules were added or removed: open device pages redraw them."""
    message = {"type": "alert", "device_id": device_id, "alert": "rules", "timestamp": iso_ms(now_ms())}
    return Event(device_channel(device_id), message, device_id=device_id)


def health_reported(device_id, report, at_ms):
    """A device sent its health report (`device` in its telemetry): the device page's health panel follows."""
    return Event(device_channel(device_id), {"type": "health", "device_id": device_id, "health": report, "timestamp": iso_ms(at_ms)}, device_id=device_id)


def command_changed(command):
    """A command was sent, delivered, answered or timed out (`command`: as the owner sees it): the device
    page shows its status live, and a device's waiting poll wakes."""
    return Event(device_channel(command["device_id"]), {"type": "command", "device_id": command["device_id"], "command": command}, device_id=command["device_id"])


def offer_changed(device_id, offer):
    """What the device is offered may have changed: `offer` is the `ota` object of its answers now (None: no
    update is on offer). Devices on MQTT hear it, retained on devices/<id>/ota."""
    return Event(device_channel(device_id), {"type": "ota_offer", "device_id": device_id, "ota": offer}, device_id=device_id, device_message=("ota", offer))


def ota_changed(update):
    """An update to a device was assigned, moved a step, finished or was cancelled (`update`: as the owner sees it,
    services/ota/updates.py): the device page follows it live; its outcomes go to webhooks as `ota`."""
    device_id = update["device_id"]
    outcome = update["status"] in ("booted", "failed", "rolled_back")
    return Event(
        device_channel(device_id),
        {"type": "ota", "device_id": device_id, "update": update},
        device_id=device_id,
        webhook="ota" if outcome else None,
        webhook_payloads=lambda: [
            {
                "event": "ota",
                "device_id": device_id,
                "timestamp": update["updated_at"],
                "status": update["status"],
                "version": update["version"],
                "from_version": update["from_version"],
                "reason": update["reason"],
                "rollout_id": update["rollout_id"],
            }
        ],
    )


def rollout_changed(user_id, rollout_id, status):
    """A rollout started, was paused, resumed, cancelled or finished."""
    return Event(user_channel(user_id), {"type": "rollout", "rollout_id": rollout_id, "status": status})


def widgets_changed(device_id):
    """A device's widgets were added, edited or removed: open dashboards redraw them."""
    return Event(device_channel(device_id), {"type": "widgets", "device_id": device_id}, device_id=device_id)


def devices_changed(user_id):
    """The set of devices `user_id` sees changed: their open dashboards follow the new set."""
    return Event(user_channel(user_id), {"type": "devices", "user_id": user_id})


def login_ended(user_id, login_id):
    """A login of `user_id` ended (logout): the live streams opened with it close."""
    return Event(user_channel(user_id), {"type": "login_ended", "login": login_id})


def ends_stream_of(message, login_id):
    """Whether a broker message ends the login a stream was opened with (None: opened with an API token)."""
    return message.get("type") == "login_ended" and login_id is not None and message.get("login") == login_id


def emit(*events):
    """Commit the session's transaction with `events` recorded in it, then announce them."""
    queued = record(db.session.connection(), events) if any(event.webhook for event in events) else False
    db.session.commit()
    announce(events, queued)


def record(connection, events):
    """Queue the webhook deliveries of `events` on `connection`, in its transaction; whether any were queued."""
    known = directory()
    payloads = {}
    for event in events:
        # Most devices have no webhook: the directory says so without a query.
        if event.webhook is not None and known.may_have(event.device_id, "webhooks"):
            payloads.setdefault(event.webhook, {}).setdefault(event.device_id, []).append(event.webhook_payloads)
    queued = False
    for webhook_event, by_device in payloads.items():
        queued |= outbox.queue_deliveries(
            connection, webhook_event, {device_id: _joined(builders) for device_id, builders in by_device.items()}, now_ms()
        )
    return queued


def announce(events, queued):
    """After the commit: wake the webhook delivery if deliveries were queued, publish, notify owners."""
    if queued:
        outbox.wake_delivery()
    if events:
        current_broker().publish_many([(event.channel, event.message) for event in events])
    _tell_devices(events)
    notices = {}
    for event in events:
        if event.notice is not None:
            texts = notices.setdefault(event.notice, (event.at_ms, {}))[1]
            # Two alerts of one device at once make one notification that names both.
            texts[event.device_id] = f"{texts[event.device_id]}; {event.notice_text}" if event.device_id in texts else event.notice_text
    for kind, (at_ms, texts) in notices.items():
        notifications.notify_owners(kind, texts, at_ms)


def _tell_devices(events):
    """Publish what the devices are told, retained, so a device connected now hears it at once and one that
    connects later gets the latest; an empty retained message clears what was told before."""
    told = [event for event in events if event.device_message is not None]
    connection = platform_connection(current_app.config) if told else None
    if connection is None:
        return
    for event in told:
        leaf, payload = event.device_message
        connection.publish(device_topic(event.device_id, leaf), b"" if payload is None else payload, retain=True)


def _joined(builders):
    return lambda: [payload for build in builders for payload in build()]


def _state_message(view, changed, source):
    """A report (source "device") or a toggle ("desired") set `changed`; `data` is the whole state after it."""
    return {
        "type": "state",
        "device_id": view.device_id,
        "source": source,
        "changed": changed,
        "data": view.data,
        "pending": sorted(view.pending()),
        "timestamp": iso_ms(view.changed_ms),
    }


def _status_message(device_id, status, at_ms):
    return {"type": "status", "device_id": device_id, "status": status, "timestamp": iso_ms(at_ms)}
