"""Webhooks: the HTTP endpoints that receive a device's events, as their owners manage them.

What a webhook is sent comes from the outbox (outbox.py); sending it, from
the delivery lanes (delivery.py).
"""
import secrets

from flask import current_app
from sqlalchemy import delete, select, update

from webapp.core.clock import now_ms
from webapp.core.errors import Conflict, NotFound, shown
from webapp.extensions import db
from webapp.models import Webhook, WebhookAttempt, WebhookDelivery
from webapp.schemas import WEBHOOK_EVENTS
from webapp.services.directory import directory
from webapp.services.webhooks import targets as webhook_targets

MAX_WEBHOOKS_PER_DEVICE = 10
SECRET_PREFIX = "whsec_"



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
        raise NotFound(f"No webhook {webhook_id} on device {shown(device_id)}.")
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


def recent_attempts(device_id, limit=50, webhook_id=None):
    """The device's latest delivery attempts, newest first: (WebhookAttempt, its WebhookDelivery) pairs."""
    query = (
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.device_id == device_id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    )
    if webhook_id is not None:
        query = query.where(WebhookAttempt.webhook_id == webhook_id)
    return db.session.execute(query).all()


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
    return "," + ",".join(sorted(set(events), key=WEBHOOK_EVENTS.index)) + ","
