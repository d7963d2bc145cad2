"""The webhook outbox: one `WebhookDelivery` row per event and subscribed webhook.

Rows are written in the same transaction as the change the event tells of
(services/events.py), so an event that happened is never lost and one that
was rolled back is never sent; the delivery lanes (services/webhooks/delivery.py)
send them later. The ingest path pays nothing for a device without webhooks
(events.record asks the device directory, which knows which have one), else
one indexed SELECT, and the INSERT only when a webhook subscribes to the event.
"""
import secrets
import threading

import orjson
from sqlalchemy import bindparam, select

from webapp.models import Webhook, WebhookDelivery

# Core (not ORM) statements on the caller's connection: on the ingest path every microsecond counts.
_webhooks = Webhook.__table__


def _subscribed(to_devices):
    return select(_webhooks.c.id, _webhooks.c.device_id, _webhooks.c.paused_until_ms).where(
        to_devices, _webhooks.c.enabled.is_(True), _webhooks.c.events.like(bindparam("pattern"))
    )


# One device (every ingest) compiles once; several (a sweep) expand the IN list per call.
_SUBSCRIBED_ONE = _subscribed(_webhooks.c.device_id == bindparam("device_id"))
_SUBSCRIBED_ANY = _subscribed(_webhooks.c.device_id.in_(bindparam("device_ids", expanding=True)))
_INSERT_DELIVERIES = WebhookDelivery.__table__.insert()

# Set once a transaction that queued deliveries has committed in this process: wakes its delivery
# lanes at once (the worker that took the event delivers it); polling covers retries and the rest.
deliveries_queued = threading.Event()


def wake_delivery():
    """Call after committing a transaction in which `queue_deliveries` returned True."""
    deliveries_queued.set()


def queue_deliveries(connection, event, payloads_of, now):
    """Add an outbox row per payload and subscribed webhook of `event`; True if any was added.

    `payloads_of` maps device id → a function of no arguments returning that
    device's payloads, called only for devices with a webhook for `event`.
    """
    device_ids = list(payloads_of)
    pattern = f"%,{event},%"
    if len(device_ids) == 1:
        subscribed = connection.execute(_SUBSCRIBED_ONE, {"device_id": device_ids[0], "pattern": pattern}).all()
    else:
        subscribed = connection.execute(_SUBSCRIBED_ANY, {"device_ids": device_ids, "pattern": pattern}).all()
    if not subscribed:
        return False
    encoded = {}
    for webhook in subscribed:
        if webhook.device_id not in encoded:
            encoded[webhook.device_id] = [orjson.dumps(payload).decode() for payload in payloads_of[webhook.device_id]()]
    rows = [
        {
            "webhook_id": webhook.id,
            "uid": secrets.token_hex(16),
            "event": event,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "created_ms": now,
            # A paused (failing) webhook's new events wait for the pause, out of the way of due rows.
            "next_attempt_ms": max(now, webhook.paused_until_ms or 0),
        }
        for webhook in subscribed
        for payload in encoded[webhook.device_id]
    ]
    connection.execute(_INSERT_DELIVERIES, rows)
    return True
