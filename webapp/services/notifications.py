"""Notifications to device owners, with a per-device, per-kind cooldown against flapping spam.

Kinds: `online`, `offline`, `rule_denied`, `webhook_failing` (and more as features add them).
Within NOTIFICATION_COOLDOWN seconds of the last notification of a kind for
a device, a repeat is not stored anew but counted on that notification
("3 more while muted"). The cooldown is claimed with one conditional UPDATE,
so with any number of workers one notification is sent per window.
"""
from flask import current_app
from sqlalchemy import func, select, update

from webapp.extensions import db
from webapp.models import Device, Notification, NotificationCooldown
from webapp.realtime import events
from webapp.services import sql
from webapp.services.clock import iso_ms, now_ms


def notify_owner(device_id, kind, text, now=None):
    """Tell the device's owner "<device name> <text>", unless the cooldown mutes it.

    The Notification stored, or None when muted.
    """
    now = now or now_ms()
    device = db.session.execute(select(Device.owner_id, Device.name).where(Device.id == device_id)).first()
    if device is None:
        return None
    owner_id, message = device.owner_id, f"{device.name} {text}"
    if not _claim_cooldown(device_id, kind, now):
        _count_muted(owner_id, device_id, kind)
        return None
    notification = Notification(user_id=owner_id, device_id=device_id, kind=kind, message=message, created_ms=now, muted_count=0)
    db.session.add(notification)
    db.session.flush()
    db.session.execute(
        update(NotificationCooldown)
        .where(NotificationCooldown.device_id == device_id, NotificationCooldown.kind == kind)
        .values(notification_id=notification.id)
    )
    db.session.commit()
    events.publish_notification(owner_id, describe(notification))
    return notification


def _claim_cooldown(device_id, kind, now):
    cooldown_ms = current_app.config["NOTIFICATION_COOLDOWN"] * 1000
    claimed = db.session.execute(
        update(NotificationCooldown)
        .where(
            NotificationCooldown.device_id == device_id,
            NotificationCooldown.kind == kind,
            NotificationCooldown.last_sent_ms <= now - cooldown_ms,
        )
        .values(last_sent_ms=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        return True
    # RETURNING, not rowcount: psycopg reports -1 rows for INSERT … ON CONFLICT.
    first = db.session.execute(
        sql.insert(NotificationCooldown)
        .values(device_id=device_id, kind=kind, last_sent_ms=now)
        .on_conflict_do_nothing()
        .returning(NotificationCooldown.kind)
    ).first()
    return first is not None


def _count_muted(owner_id, device_id, kind):
    """Count a muted repeat on the notification that opened the cooldown, and tell live dashboards."""
    notification_id = db.session.scalar(
        select(NotificationCooldown.notification_id).where(NotificationCooldown.device_id == device_id, NotificationCooldown.kind == kind)
    )
    muted_count = None
    if notification_id is not None:
        muted_count = db.session.scalar(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(muted_count=Notification.muted_count + 1)
            .returning(Notification.muted_count)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    if muted_count is not None:
        events.publish_notification_muted(owner_id, {"id": notification_id, "device_id": device_id, "kind": kind, "muted_count": muted_count})


def describe(notification):
    return {
        "id": notification.id,
        "device_id": notification.device_id,
        "kind": notification.kind,
        "message": notification.message,
        "muted_count": notification.muted_count,
        "created_at": iso_ms(notification.created_ms),
        "read": notification.read_ms is not None,
    }


def list_notifications(user, limit=50, unread_only=False):
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_ms.is_(None))
    return db.session.scalars(query.order_by(Notification.created_ms.desc(), Notification.id.desc()).limit(limit)).all()


def unread_count(user):
    return db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == user.id, Notification.read_ms.is_(None))
    )


def mark_read(user, notification_ids=None):
    """Mark the user's notifications read: those ids, or all when None. How many changed."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_ms.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(notification_ids))
    changed = db.session.execute(query.values(read_ms=now_ms()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed
