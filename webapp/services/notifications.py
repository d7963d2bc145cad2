"""Notifications to device owners, with a per-device, per-kind cooldown against flapping spam.

Kinds: `online`, `offline`, `rule_denied`, `alert`, `alert_cleared` (and more as features add them).
Within NOTIFICATION_COOLDOWN seconds of the last notification of a kind for
a device, a repeat is not stored anew but counted on that notification
("3 more while muted"). The cooldown is claimed with one conditional UPDATE,
so with any number of workers one notification is sent per window.
Many devices of one owner changing at once are folded into one summary
past the first few (services/notification_groups.py).
"""
from flask import current_app
from sqlalchemy import func, insert, select, update

from webapp.core import sql
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Device, Notification, NotificationCooldown
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import user_channel
from webapp.schemas import NotificationOut
from webapp.services import notification_groups


def notify_owner(device_id, kind, text, now=None):
    """Tell the device's owner "<device name> <text>", unless the cooldown mutes it."""
    notify_owners(kind, {device_id: text}, now)


def notify_user(user_id, kind, message, now=None):
    """Tell user `user_id` `message`, about their account rather than a device (no cooldown: callers notify rarely)."""
    notification = Notification(user_id=user_id, device_id=None, kind=kind, message=message, created_ms=now or now_ms(), muted_count=0)
    db.session.add(notification)
    db.session.commit()
    current_broker().publish(user_channel(user_id), {"type": "notification", **NotificationOut.of(notification).model_dump()})


def notify_owners(kind, texts, now=None):
    """Tell each device's owner "<device name> <text>" for `texts` {device_id: text}, in one transaction.

    Devices within their cooldown for `kind` are not notified again; their
    last notification counts one more muted repeat instead; past the first
    few of an owner within the group window, the rest fold into one summary.
    Many devices change state at once (a server restart brings a whole fleet
    online), so this costs a handful of statements however many there are. Returns the
    (user id, notification as published) pairs sent.
    """
    now = now or now_ms()
    devices = {
        row.id: row
        for row in db.session.execute(select(Device.id, Device.owner_id, Device.name).where(Device.id.in_(list(texts))))
    }
    if not devices:
        return []
    claimed = _claim_cooldowns(list(devices), kind, now)
    muted = _count_muted([device_id for device_id in devices if device_id not in claimed], kind)
    alone, folds = notification_groups.split(kind, [devices[device_id] for device_id in sorted(claimed)], now)
    rows = [
        {"user_id": device.owner_id, "device_id": device.id, "kind": kind,
         "message": f"{device.name} {texts[device.id]}", "created_ms": now, "muted_count": 0, "grouped_count": 0}
        for device in alone
    ] + [notification_groups.summary_row(fold, now) for fold in folds if fold.summary_id is None]
    created = db.session.scalars(insert(Notification).returning(Notification), rows).all() if rows else []
    opened = {n.user_id: n.id for n in created if n.device_id is None}
    if folds:
        notification_groups.record(folds, opened)
    # A folded device's repeats within its cooldown count on its summary.
    summaries = {fold.user_id: fold.summary_id or opened[fold.user_id] for fold in folds}
    sent_to = {n.device_id: n.id for n in created if n.device_id is not None}
    if claimed:
        db.session.execute(
            update(NotificationCooldown),
            [{"device_id": device_id, "kind": kind, "notification_id": sent_to.get(device_id) or summaries[devices[device_id].owner_id]} for device_id in claimed],
        )
    published = [(notification.user_id, NotificationOut.of(notification).model_dump()) for notification in created]
    db.session.commit()
    # What open dashboards of each owner show at once (realtime/sse.py): the new notifications,
    # the "N more while muted" of those a repeat was counted on, and the grown summaries.
    current_broker().publish_many(
        [(user_channel(user_id), {"type": "notification", **notification}) for user_id, notification in published]
        + [
            (user_channel(row.user_id), {"type": "notification_muted", "id": row.id, "device_id": row.device_id, "kind": kind, "muted_count": row.muted_count})
            for row in muted
        ]
        + [
            (user_channel(fold.user_id), {"type": "notification_grouped", "id": fold.summary_id, "kind": kind, "message": fold.message, "grouped_count": fold.total})
            for fold in folds
            if fold.summary_id is not None
        ]
    )
    return published


def _claim_cooldowns(device_ids, kind, now):
    """The devices this call may notify: their cooldown window has passed, or this kind never notified."""
    cooldown_ms = current_app.config["NOTIFICATION_COOLDOWN"] * 1000
    claimed = set(
        db.session.scalars(
            update(NotificationCooldown)
            .where(
                NotificationCooldown.device_id.in_(device_ids),
                NotificationCooldown.kind == kind,
                NotificationCooldown.last_sent_ms <= now - cooldown_ms,
            )
            .values(last_sent_ms=now)
            .returning(NotificationCooldown.device_id)
            .execution_options(synchronize_session=False)
        )
    )
    first_time = [device_id for device_id in device_ids if device_id not in claimed]
    if first_time:
        claimed.update(
            db.session.scalars(
                sql.insert(NotificationCooldown)
                .values([{"device_id": device_id, "kind": kind, "last_sent_ms": now} for device_id in first_time])
                .on_conflict_do_nothing()
                .returning(NotificationCooldown.device_id)
            )
        )
    return claimed


def _count_muted(device_ids, kind):
    """Count a muted repeat on the notification that opened each device's cooldown; the rows counted."""
    if not device_ids:
        return []
    last_sent = (
        select(NotificationCooldown.notification_id)
        .where(NotificationCooldown.device_id.in_(device_ids), NotificationCooldown.kind == kind)
        .scalar_subquery()
    )
    return db.session.execute(
        update(Notification)
        .where(Notification.id.in_(last_sent))
        .values(muted_count=Notification.muted_count + 1)
        .returning(Notification.id, Notification.user_id, Notification.device_id, Notification.muted_count)
        .execution_options(synchronize_session=False)
    ).all()


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
