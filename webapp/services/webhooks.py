"""Webhooks: HTTP endpoints that receive a device's events, and the outbox that feeds them.

An event is written to the outbox (one `WebhookDelivery` per subscribed
webhook) in the same transaction as the event itself, so an event that
happened is never lost and one that was rolled back is never sent. Workers
deliver the outbox later (services/webhook_delivery.py). The ingest path
pays nothing for a device without webhooks (the device directory knows
which have one), else one indexed SELECT, and the INSERT only when a
webhook subscribes to the event.
"""
import secrets
import threading

import orjson
from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from webapp.errors import Conflict, NotFound
from webapp.extensions import db
from webapp.models import Webhook, WebhookAttempt, WebhookDelivery
from webapp.services import webhook_targets
from webapp.services.device_directory import directory
from webapp.services.clock import iso_ms, now_ms

EVENTS = ("telemetry", "online", "offline", "rule_denied")
MAX_WEBHOOKS_PER_DEVICE = 10
SECRET_PREFIX = "whsec_"

# Core (not ORM) statements on the session's connection: on the ingest path every microsecond counts.
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
    """Call after committing a transaction in which an enqueue_* returned True."""
    deliveries_queued.set()


# The outbox: each enqueue_* writes in the caller's transaction (on `connection`) and says whether
# it queued anything; the caller commits, then wakes the delivery lanes.


def enqueue_telemetry(connection, readings, now):
    """Queue a `telemetry` event per reading; `readings` maps device id → [(ts, data), …]."""
    return _enqueue(
        connection,
        "telemetry",
        [device_id for device_id, timed in readings.items() if timed],
        lambda device_id: [
            {"event": "telemetry", "device_id": device_id, "timestamp": iso_ms(ts), "data": data} for ts, data in readings[device_id]
        ],
        now,
    )


def enqueue_status(connection, device_ids, status, now, last_seen_ms=None):
    """Queue an `online` or `offline` event for each device; `last_seen_ms` maps device id → ms."""
    last_seen_ms = last_seen_ms or {}
    return _enqueue(
        connection,
        status,
        list(device_ids),
        lambda device_id: [
            {
                "event": status,
                "device_id": device_id,
                "timestamp": iso_ms(now),
                "status": status,
                "last_seen": iso_ms(last_seen_ms.get(device_id, now)),
            }
        ],
        now,
    )


def enqueue_rule_denied(connection, device_id, rule, reason, now):
    return _enqueue(
        connection,
        "rule_denied",
        [device_id],
        lambda _: [{"event": "rule_denied", "device_id": device_id, "timestamp": iso_ms(now), "rule": rule, "reason": reason}],
        now,
    )


def _enqueue(connection, event, device_ids, payloads_of, now):
    """Add an outbox row per payload and subscribed webhook; True if any was added.

    `payloads_of(device_id)` is called only for devices with a webhook for `event`.
    """
    known = directory()
    device_ids = [device_id for device_id in device_ids if known.may_have_webhooks(device_id)]
    if not device_ids:
        return False
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
            encoded[webhook.device_id] = [orjson.dumps(payload).decode() for payload in payloads_of(webhook.device_id)]
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


# Managing webhooks


def create_webhook(device, url, events, secret=None):
    """A new webhook of `device`; returns it with its secret (generated unless given), shown once."""
    count = db.session.scalar(select(db.func.count()).select_from(Webhook).where(Webhook.device_id == device.id))
    if count >= MAX_WEBHOOKS_PER_DEVICE:
        raise Conflict(f"A device has at most {MAX_WEBHOOKS_PER_DEVICE} webhooks; delete one first.")
    secret = secret or SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = Webhook(
        device_id=device.id,
        url=_checked_url(url),
        events=_encode_events(events),
        secret=secret,
        enabled=True,
        consecutive_failures=0,
        created_ms=now_ms(),
    )
    db.session.add(webhook)
    db.session.commit()
    # From here on, ingest looks for this device's webhooks (on every worker once the broadcast arrives).
    directory().device_changed(device.id)
    return webhook, secret


def device_webhooks(device_id):
    return db.session.scalars(select(Webhook).where(Webhook.device_id == device_id).order_by(Webhook.id)).all()


def device_webhook(device_id, webhook_id):
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.device_id != device_id:
        raise NotFound(f"No webhook {webhook_id} on device {device_id}.")
    return webhook


def update_webhook(webhook, changes):
    """Change url, events or enabled; enabling a disabled webhook clears its failure record."""
    if "url" in changes:
        webhook.url = _checked_url(changes["url"])
    if "events" in changes:
        webhook.events = _encode_events(changes["events"])
    if changes.get("enabled") is True and not webhook.enabled:
        webhook.enabled = True
        webhook.disabled_reason = None
        webhook.consecutive_failures = 0
        webhook.failing_since_ms = None
        webhook.paused_until_ms = None
    elif changes.get("enabled") is False and webhook.enabled:
        disable(webhook.id, "disabled by its owner", now_ms())
    db.session.commit()
    return webhook


def delete_webhook(webhook):
    db.session.delete(webhook)
    db.session.commit()
    directory().device_changed(webhook.device_id)


def disable(webhook_id, reason, now):
    """Stop a webhook in the caller's transaction: no new events, and its queued ones give up."""
    db.session.execute(
        update(Webhook)
        .where(Webhook.id == webhook_id)
        .values(enabled=False, disabled_reason=reason, paused_until_ms=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.next_attempt_ms.is_not(None))
        .values(status="failed", next_attempt_ms=None, claimed_until_ms=None, claim=None, completed_ms=now)
        .execution_options(synchronize_session=False)
    )


def event_list(webhook):
    return [event for event in webhook.events.split(",") if event]


def describe(webhook):
    return {
        "id": webhook.id,
        "device_id": webhook.device_id,
        "url": webhook.url,
        "events": event_list(webhook),
        "enabled": webhook.enabled,
        "disabled_reason": webhook.disabled_reason,
        "consecutive_failures": webhook.consecutive_failures,
        "failing_since": iso_ms(webhook.failing_since_ms),
        "created_at": iso_ms(webhook.created_ms),
    }


def recent_attempts(device_id, limit=50, webhook_id=None):
    """The device's latest delivery attempts, newest first, with the state of their deliveries."""
    query = (
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.device_id == device_id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    )
    if webhook_id is not None:
        query = query.where(WebhookAttempt.webhook_id == webhook_id)
    return [_describe_attempt(attempt, delivery) for attempt, delivery in db.session.execute(query)]


def _describe_attempt(attempt, delivery):
    return {
        "webhook_id": attempt.webhook_id,
        "delivery_id": delivery.uid,
        "event": delivery.event,
        "attempt": attempt.number,
        "attempted_at": iso_ms(attempt.attempted_ms),
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "ok": attempt.ok,
        "error": attempt.error,
        "delivery_status": delivery.status,
        "next_attempt_at": iso_ms(delivery.next_attempt_ms),
    }


def prune_log(now):
    """Delete finished deliveries (and their attempts) older than WEBHOOK_LOG_RETENTION_DAYS."""
    cutoff = now - current_app.config["WEBHOOK_LOG_RETENTION_DAYS"] * 86_400_000
    old = select(WebhookDelivery.id).where(WebhookDelivery.created_ms < cutoff, WebhookDelivery.next_attempt_ms.is_(None))
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old)))
    removed = db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old))).rowcount
    db.session.commit()
    return removed


def _checked_url(url):
    return webhook_targets.check_url(url, current_app.config["WEBHOOK_ALLOW_PRIVATE"])


def _encode_events(events):
    return "," + ",".join(sorted(set(events), key=EVENTS.index)) + ","
