"""An image sent to one device, and how far it got.

    staged ─(its rollout's turn)─> assigned → downloading → verifying → applied → booted
                                   (any of these) ──> failed, cancelled;  applied ─(the old version boots)─> rolled_back

While assigned, downloading or verifying (and its rollout, if any, is not
paused) the update is *offered*: the device's telemetry and poll answers
carry the `ota` object (`offer_for`) and it may download the image. The
device reports each step (`report`); states only move forward, a report of
the step it is on again (download progress) included. A device has at most
one update in progress: assigning another cancels it. Every change is
announced on the device's channel (the device page follows it live), and
the outcomes (booted, failed, rolled_back) go to webhooks as `ota`.
"""
import math

from sqlalchemy import or_, select, update

from webapp.core.clock import iso_ms, now_ms
from webapp.core.errors import Conflict, InvalidRequest, NotFound
from webapp.extensions import db
from webapp.models import FirmwareImage, OtaUpdate, Rollout
from webapp.services import events
from webapp.services.devices import health
from webapp.services.directory import directory

OFFERED = ("assigned", "downloading", "verifying")
IN_PROGRESS = (*OFFERED, "applied")
UNFINISHED = ("staged", *IN_PROGRESS)
OUTCOMES = ("booted", "failed", "rolled_back")
# How far each reported state is along the way: a report never moves an update back.
STEP = {"assigned": 0, "downloading": 1, "verifying": 2, "applied": 3, "booted": 4}
HISTORY = 20


def assign(device_id, image, rollout_id=None, staged=False):
    """Send `image` to the device (cancelling the update it has in progress); the new OtaUpdate."""
    now = now_ms()
    told = _cancel_unfinished([device_id], now)
    report = health.device_health(device_id)
    sent = OtaUpdate(
        device_id=device_id,
        firmware_id=image.id,
        rollout_id=rollout_id,
        status="staged" if staged else "assigned",
        received=0,
        from_version=(report.report.get("fw") if report else None),
        created_ms=now,
        updated_ms=now,
    )
    db.session.add(sent)
    db.session.flush()
    _announce([*told, events.ota_changed(describe(sent))])
    return sent


def cancel(device_id):
    """Cancel the device's update in progress: NotFound when it has none."""
    told = _cancel_unfinished([device_id], now_ms())
    if not told:
        raise NotFound("This device has no update in progress.")
    _announce(told)


def device_updates(device_id, limit=HISTORY):
    """The device's updates, newest first: the first is the latest (in progress or not)."""
    return db.session.scalars(select(OtaUpdate).where(OtaUpdate.device_id == device_id).order_by(OtaUpdate.id.desc()).limit(limit)).all()


def offered_update(device_id):
    """The device's update on offer (its rollout not paused), or None."""
    return db.session.scalar(
        select(OtaUpdate)
        .outerjoin(Rollout, Rollout.id == OtaUpdate.rollout_id)
        .where(OtaUpdate.device_id == device_id, OtaUpdate.status.in_(OFFERED), or_(OtaUpdate.rollout_id.is_(None), Rollout.status == "active"))
        .order_by(OtaUpdate.id.desc())
        .limit(1)
    )


def offer_for(device_id):
    """The `ota` object of the device's answers while an update is offered, else None. Most devices have
    none, and the directory says so without a query."""
    if not directory().may_have(device_id, "ota"):
        return None
    offered = offered_update(device_id)
    return None if offered is None else offer(offered)


def offer(offered):
    image = offered.firmware
    return {"title": image.title, "version": image.version, "size": image.size, "sha256": image.sha256, "url": f"/devices/{offered.device_id}/firmware/{image.sha256}"}


def downloadable(device_id, sha256):
    """The image the device may download under this SHA-256: that of its update in progress; NotFound otherwise
    (another device's image, an update finished or cancelled)."""
    return _image_in_progress(device_id, FirmwareImage.sha256 == sha256)


def downloadable_version(device_id, title, version):
    """The image of the device's update in progress by title and version (ThingsBoard's firmware request); NotFound otherwise."""
    return _image_in_progress(device_id, FirmwareImage.title == title, FirmwareImage.version == version)


def _image_in_progress(device_id, *conditions):
    image = db.session.scalar(
        select(FirmwareImage)
        .join(OtaUpdate, OtaUpdate.firmware_id == FirmwareImage.id)
        .where(OtaUpdate.device_id == device_id, OtaUpdate.status.in_(IN_PROGRESS), *conditions)
        .limit(1)
    )
    if image is None:
        raise NotFound("No such image is being sent to this device.")
    return image


def report(device_id, state, received=None, version=None, reason=None):
    """A device's report on its update in progress; the update after it. Conflict when it has none, or the
    report would move it back; `booted` with another version than the image's after `applied` is a rollback."""
    current = db.session.scalar(
        select(OtaUpdate).where(OtaUpdate.device_id == device_id, OtaUpdate.status.in_(IN_PROGRESS)).order_by(OtaUpdate.id.desc()).limit(1)
    )
    if current is None:
        raise Conflict("This device has no update in progress.")
    target = current.firmware
    status = state
    if state == "booted" and version != target.version:
        if current.status != "applied":
            raise Conflict(f"Version {version} booted, but the update to {target.version} was not applied.")
        status, reason = "rolled_back", f"Booted {version} again instead of {target.version}."
    elif state != "failed" and STEP[state] < STEP[current.status]:
        raise Conflict(f"The update is already {current.status}: it cannot go back to {state}.")
    if received is not None and received > target.size:
        raise InvalidRequest(f"bytes: {received} is more than the image's {target.size} bytes.")
    now = now_ms()
    current.status = status
    current.updated_ms = now
    if received is not None:
        current.received = received
    if status in ("applied", "booted"):
        current.received = target.size
    if status in ("failed", "rolled_back"):
        current.reason = reason
    db.session.flush()
    told = [events.ota_changed(describe(current))]
    if current.rollout_id is not None and status in OUTCOMES:
        told += _rollout_moved_on(current.rollout_id, failed=status != "booted", now=now)
    if status in OFFERED and len(told) == 1:
        # Progress: what the device is offered stays as it was.
        events.emit(*told)
    else:
        _announce(told)
    return current


def set_rollout_status(rollout, status):
    """Pause, resume or cancel a rollout (cancelling cancels its unfinished updates); the events are announced."""
    now = now_ms()
    told = []
    # Pausing takes the offer away from the devices it was made to, resuming gives it back.
    offered = db.session.scalars(select(OtaUpdate.device_id).where(OtaUpdate.rollout_id == rollout.id, OtaUpdate.status.in_(OFFERED))).all()
    if status == "cancelled":
        ids = db.session.scalars(select(OtaUpdate.device_id).where(OtaUpdate.rollout_id == rollout.id, OtaUpdate.status.in_(UNFINISHED))).all()
        told = _cancel_unfinished(ids, now, rollout.id)
    rollout.status = status
    db.session.flush()
    if status == "active":
        told += _rollout_moved_on(rollout.id, failed=False, now=now)
    told.append(events.rollout_changed(rollout.owner_id, rollout.id, rollout.status))
    _announce(told, concerned=offered)


def stage_size(count, percent):
    """How many of `count` devices the first stage of a rollout takes: `percent` of them, at least one."""
    return max(1, math.ceil(count * percent / 100))


def _announce(told, concerned=()):
    """Emit the events; then, once every worker's directory has forgotten the devices they concern (and those
    `concerned`: has_ota), the offer each has now, which releases its long-poll and reaches it retained on MQTT
    (docs/MQTT.md). In that order, a worker woken by the offer cannot read a stale "no offer" from its directory."""
    device_ids = list(dict.fromkeys([*(event.device_id for event in told if event.device_id is not None), *concerned]))
    events.emit(*told)
    for device_id in device_ids:
        directory().device_changed(device_id)
    events.emit(*(events.offer_changed(device_id, _offer_now(device_id)) for device_id in device_ids))


def _offer_now(device_id):
    offered = offered_update(device_id)
    return None if offered is None else offer(offered)


def _rollout_moved_on(rollout_id, failed, now):
    """After an outcome in a rollout: a failure pauses it; once none of its updates is in progress the staged
    ones are offered, and once none is unfinished it is done. The events of what changed."""
    rollout = db.session.get(Rollout, rollout_id)
    if rollout.status != "active":
        return []
    if failed:
        rollout.status = "paused"
        return [events.rollout_changed(rollout.owner_id, rollout.id, "paused")]
    statuses = set(db.session.scalars(select(OtaUpdate.status).where(OtaUpdate.rollout_id == rollout_id)).all())
    if statuses & set(IN_PROGRESS):
        return []
    if "staged" not in statuses:
        rollout.status = "done"
        return [events.rollout_changed(rollout.owner_id, rollout.id, "done")]
    promoted = db.session.scalars(
        update(OtaUpdate)
        .where(OtaUpdate.rollout_id == rollout_id, OtaUpdate.status == "staged")
        .values(status="assigned", updated_ms=now)
        .returning(OtaUpdate.id)
        .execution_options(synchronize_session=False)
    ).all()
    return [events.ota_changed(describe(_fresh(update_id))) for update_id in promoted]


def _cancel_unfinished(device_ids, now, rollout_id=None):
    """Cancel those devices' unfinished updates (only the rollout's, when given); the events."""
    if not device_ids:
        return []
    query = update(OtaUpdate).where(OtaUpdate.device_id.in_(device_ids), OtaUpdate.status.in_(UNFINISHED))
    if rollout_id is not None:
        query = query.where(OtaUpdate.rollout_id == rollout_id)
    cancelled = db.session.scalars(
        query.values(status="cancelled", updated_ms=now).returning(OtaUpdate.id).execution_options(synchronize_session=False)
    ).all()
    return [events.ota_changed(describe(_fresh(update_id))) for update_id in cancelled]


def _fresh(update_id):
    # Changed by a bulk UPDATE: the session's copy, if it has one, is stale.
    row = db.session.get(OtaUpdate, update_id)
    db.session.refresh(row)
    return row


def describe(sent):
    """An update as the owner sees it (schemas OtaUpdateOut's fields)."""
    image = sent.firmware
    return {
        "id": sent.id,
        "device_id": sent.device_id,
        "firmware_id": image.id,
        "title": image.title,
        "version": image.version,
        "size": image.size,
        "sha256": image.sha256,
        "rollout_id": sent.rollout_id,
        "status": sent.status,
        "bytes": sent.received,
        "from_version": sent.from_version,
        "reason": sent.reason,
        "created_at": iso_ms(sent.created_ms),
        "updated_at": iso_ms(sent.updated_ms),
    }
