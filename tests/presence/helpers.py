"""Moving a device's clock instead of waiting: presence tests age rows rather than sleep."""
from sqlalchemy import func, select, update

from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Device, Notification, NotificationCooldown, NotificationGroup, WebhookDelivery
from webapp.services.devices import presence
from webapp.services.ingest.writer import ingest_writer


def age_device(app, device_id, seconds):
    """As if `seconds` had passed since the device was last seen."""
    with app.app_context():
        db.session.execute(update(Device).where(Device.id == device_id).values(last_seen_ms=Device.last_seen_ms - seconds * 1000))
        db.session.commit()
        db.session.remove()


def age_cooldowns(app, device_id, seconds):
    """As if `seconds` had passed since the device's last notifications."""
    with app.app_context():
        db.session.execute(
            update(NotificationCooldown)
            .where(NotificationCooldown.device_id == device_id)
            .values(last_sent_ms=NotificationCooldown.last_sent_ms - seconds * 1000)
        )
        db.session.commit()
        db.session.remove()


def settle(app):
    """Wait until the ingest writer has stored and announced every request answered so far."""
    ingest_writer(app).drain()


def sweep(app):
    with app.app_context():
        gone = presence.mark_offline_stale_devices(now_ms())
        db.session.remove()
    return gone


def status(app, device_id):
    with app.app_context():
        value = db.session.scalar(select(Device.status).where(Device.id == device_id))
        db.session.remove()
    return value


def notifications_of(app, device_id, kind=None):
    """(kind, message, muted_count) of the device's notifications, oldest first."""
    with app.app_context():
        query = select(Notification).where(Notification.device_id == device_id).order_by(Notification.id)
        if kind:
            query = query.where(Notification.kind == kind)
        found = [(n.kind, n.message, n.muted_count) for n in db.session.scalars(query)]
        db.session.remove()
    return found


def queued_events(app, webhook_id, event):
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.event == event)
        )
        db.session.remove()
    return count


def age_groups(app, user_id, seconds):
    """As if `seconds` had passed since the user's notification windows began."""
    with app.app_context():
        db.session.execute(
            update(NotificationGroup).where(NotificationGroup.user_id == user_id).values(window_start_ms=NotificationGroup.window_start_ms - seconds * 1000)
        )
        db.session.commit()
        db.session.remove()


def owner_notifications(app, user_id, kind):
    """(device id, message, grouped_count) of the user's notifications of `kind`, oldest first; device id None for a summary."""
    with app.app_context():
        query = select(Notification).where(Notification.user_id == user_id, Notification.kind == kind).order_by(Notification.id)
        found = [(n.device_id, n.message, n.grouped_count) for n in db.session.scalars(query)]
        db.session.remove()
    return found
