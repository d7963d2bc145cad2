"""Provisioning keys: a fleet flashed alike gets a device of its owner's per board, without a cable.

An owner makes a key and secret (the secret shown once, only its hash
kept) with a device limit and an expiry. A board presenting them with its
hardware id gets its own device and token once; presenting them again (its
flash erased, its token refused) gives the same device a new token, and the
old one is refused from then on. Refusals of a known key are recorded for
its owner to see; guessing keys is throttled per address like guessing tokens.
"""
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from webapp.core import tokens
from webapp.core.clock import now_ms, parse_timestamp_ms
from webapp.core.errors import InvalidProvisioningKey, InvalidRequest, ProvisioningKeyExpired, ProvisioningKeyUsedUp
from webapp.core.ids import in_range
from webapp.core.rate_limits import count_request
from webapp.extensions import db
from webapp.models import Device, ProvisionedDevice, ProvisioningKey, ProvisioningRefusal
from webapp.services import events, ownership
from webapp.services.devices import broker_accounts, registry

# Refusals kept per key: enough to see what a misconfigured fleet is doing, bounded against a flood.
KEPT_REFUSALS = 50


def create_key(owner, name, max_devices, expires_at=None):
    """A new key of `owner`: (the key, its secret), the secret shown only this once.

    `expires_at`: ISO-8601, Unix seconds or milliseconds, in the future; None: never.
    """
    expires_ms = None if expires_at is None else _future_ms(expires_at)
    secret = secrets.token_urlsafe(32)
    key = ProvisioningKey(
        owner_id=owner.id,
        name=name,
        key=secrets.token_urlsafe(15),
        secret_hash=tokens.hash_token(secret),
        max_devices=max_devices,
        devices_created=0,
        expires_ms=expires_ms,
        created_ms=now_ms(),
        refused_count=0,
    )
    db.session.add(key)
    db.session.commit()
    return key, secret


def _future_ms(moment):
    try:
        ms = parse_timestamp_ms(moment)
    except (ValueError, OverflowError):
        raise InvalidRequest("expires_at is neither ISO-8601 nor Unix seconds or milliseconds.") from None
    if not in_range(ms):
        raise InvalidRequest("expires_at is too far in the future.")
    if ms <= now_ms():
        raise InvalidRequest("expires_at is not in the future.")
    return ms


def visible_keys(user):
    return ownership.visible_rows(user, ProvisioningKey, ProvisioningKey.created_ms.desc(), ProvisioningKey.id.desc())


def visible_key(user, key_id):
    return ownership.visible_row(user, ProvisioningKey, key_id, f"No provisioning key with id {key_id}.")


def provisioned_devices(key):
    """[(ProvisionedDevice, Device)] the key created, newest first."""
    rows = db.session.execute(
        select(ProvisionedDevice, Device)
        .join(Device, Device.id == ProvisionedDevice.device_id)
        .where(ProvisionedDevice.key_id == key.id)
        .order_by(ProvisionedDevice.created_ms.desc())
    )
    return [tuple(row) for row in rows]


def refusals(key):
    return db.session.scalars(select(ProvisioningRefusal).where(ProvisioningRefusal.key_id == key.id).order_by(ProvisioningRefusal.id.desc())).all()


def revoke_key(key):
    """Delete the key: devices it made stay, new boards presenting it are refused."""
    db.session.delete(key)
    db.session.commit()


def provision(key, secret, hardware_id, name, source_ip):
    """(device id, its new token, whether the device is new) for a board presenting a key and secret.

    InvalidProvisioningKey (401) for a wrong key or secret, ProvisioningKeyExpired
    or ProvisioningKeyUsedUp (403), RateLimited (429) past RATELIMIT_PROVISIONING
    attempts per key, or past RATELIMIT_AUTH_FAILURES failures per address.
    """
    over_limit = count_request("RATELIMIT_PROVISIONING", "provisioning", key)
    if over_limit is not None:
        raise over_limit
    found = db.session.scalar(select(ProvisioningKey).where(ProvisioningKey.key == key))
    if found is None or not tokens.token_matches(secret, found.secret_hash):
        if found is not None:
            _refuse(found, "wrong_secret", hardware_id, source_ip)
        failures = count_request("RATELIMIT_AUTH_FAILURES", "auth-failure", source_ip)
        raise failures or InvalidProvisioningKey("The provisioning key or secret is not valid.")
    now = now_ms()
    if found.expires_ms is not None and found.expires_ms <= now:
        _refuse(found, "expired", hardware_id, source_ip)
        raise ProvisioningKeyExpired("The provisioning key has expired: its owner can make a new one.")
    try:
        return _provision_with(found, hardware_id, name, now)
    except IntegrityError:
        # The same board provisioned twice at once: the other request made the device; this one rotates its token.
        db.session.rollback()
        return _provision_with(db.session.get(ProvisioningKey, found.id), hardware_id, name, now)
    except ProvisioningKeyUsedUp:
        _refuse(found, "used_up", hardware_id, source_ip)
        raise


def _provision_with(key, hardware_id, name, now):
    key.last_used_ms = now
    known = db.session.get(ProvisionedDevice, (key.id, hardware_id))
    if known is not None:
        known.provisioned_ms, known.times = now, known.times + 1
        return known.device_id, registry.rotate_device_token(db.session.get(Device, known.device_id)), False
    # One slot of the key, claimed atomically: a fleet booting at once never gets more than max_devices.
    claimed = db.session.execute(
        update(ProvisioningKey)
        .where(ProvisioningKey.id == key.id, ProvisioningKey.devices_created < ProvisioningKey.max_devices)
        .values(devices_created=ProvisioningKey.devices_created + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise ProvisioningKeyUsedUp(f"The provisioning key has made all the {key.max_devices} devices it may.")
    device, token = registry.new_device(key.owner, (name or f"{key.name} {hardware_id}")[:100])
    db.session.add(device)
    db.session.flush()
    db.session.add(ProvisionedDevice(key_id=key.id, hardware_id=hardware_id, device_id=device.id, created_ms=now, provisioned_ms=now, times=1))
    events.emit(events.devices_changed(key.owner_id))
    broker_accounts.device_created(device.id, token)
    return device.id, token, True


def _refuse(key, reason, hardware_id, source_ip):
    """Record a refusal of a known key for its owner (the latest KEPT_REFUSALS)."""
    db.session.add(ProvisioningRefusal(key_id=key.id, at_ms=now_ms(), reason=reason, hardware_id=hardware_id, source_ip=source_ip))
    db.session.execute(update(ProvisioningKey).where(ProvisioningKey.id == key.id).values(refused_count=ProvisioningKey.refused_count + 1))
    db.session.flush()
    oldest_kept = (
        select(ProvisioningRefusal.id).where(ProvisioningRefusal.key_id == key.id).order_by(ProvisioningRefusal.id.desc()).offset(KEPT_REFUSALS - 1).limit(1)
    ).scalar_subquery()
    db.session.execute(
        delete(ProvisioningRefusal).where(ProvisioningRefusal.key_id == key.id, ProvisioningRefusal.id < oldest_kept).execution_options(synchronize_session=False)
    )
    db.session.commit()
