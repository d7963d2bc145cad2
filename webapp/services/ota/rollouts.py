"""Rollouts: one image to several devices, optionally staged (services/ota/updates.py moves them on).

The first `stage_percent` of the devices (at least one) are offered the
image at once; the rest are staged until every update of the first stage
has finished. A failure or rollback pauses the rollout; resuming it (the
operator has looked) offers the rest. Cancelling cancels every unfinished
update of the rollout.
"""
from sqlalchemy import select

from webapp.core.clock import now_ms
from webapp.core.errors import Conflict
from webapp.extensions import db
from webapp.models import Device, OtaUpdate, Rollout
from webapp.services import events, ownership
from webapp.services.devices import registry as devices
from webapp.services.ota import updates

# From each status, what an operator may move a rollout to.
MOVES = {"active": ("paused", "cancelled"), "paused": ("active", "cancelled"), "done": (), "cancelled": ()}


def start_rollout(user, image, device_ids, stage_percent):
    """Send `image` to the listed devices (each visible to `user`), or to all of `user`'s own when None; the Rollout."""
    if device_ids is None:
        targets = db.session.scalars(select(Device.id).where(Device.owner_id == user.id).order_by(Device.id)).all()
    else:
        targets = [devices.visible_device(user, device_id).id for device_id in dict.fromkeys(device_ids)]
    if not targets:
        raise Conflict("There is no device to send the image to.")
    rollout = Rollout(owner_id=user.id, firmware_id=image.id, stage_percent=stage_percent, status="active", created_ms=now_ms())
    db.session.add(rollout)
    db.session.flush()
    first = updates.stage_size(len(targets), stage_percent)
    for position, device_id in enumerate(targets):
        updates.assign(device_id, image, rollout.id, staged=position >= first)
    events.emit(events.rollout_changed(user.id, rollout.id, rollout.status))
    return rollout


def visible_rollouts(user):
    return ownership.visible_rows(user, Rollout, Rollout.id.desc())


def visible_rollout(user, rollout_id):
    return ownership.visible_row(user, Rollout, rollout_id, f"No rollout {rollout_id}.")


def move_rollout(rollout, status):
    """Pause, resume (`active`) or cancel a rollout: Conflict when its status does not allow it."""
    if status not in MOVES[rollout.status]:
        raise Conflict(f"The rollout is {rollout.status}: it cannot be made {status}.")
    updates.set_rollout_status(rollout, status)
    return rollout


def rollout_updates(rollout_id):
    """The rollout's updates, one per device, in the order they were staged."""
    return db.session.scalars(select(OtaUpdate).where(OtaUpdate.rollout_id == rollout_id).order_by(OtaUpdate.id)).all()
