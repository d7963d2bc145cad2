"""Devices: registering them, their tokens, who may see them, and authenticating them."""
from dataclasses import dataclass

from flask import current_app

from webapp.core import tokens
from webapp.core.clock import now_ms
from webapp.core.errors import Conflict, Forbidden, InvalidToken, NotFound, shown
from webapp.extensions import db
from webapp.models import Device
from webapp.services import events, ownership
from webapp.services.accounts import users
from webapp.services.devices import broker_accounts
from webapp.services.directory import directory


def create_device(owner, name, offline_timeout=None, token=None):
    """A new device of `owner`; returns it with its token, which is shown only this once.

    `token`: the token the device already has (one of another platform's, so a
    fleet moves without reflashing); Conflict when another device has it.
    The owner's open dashboards start following it.
    """
    if token is not None and directory().by_token(token) is not None:
        raise Conflict("Another device already has this token.")
    device, token = new_device(owner, name, offline_timeout, token)
    db.session.add(device)
    events.emit(events.devices_changed(owner.id))
    broker_accounts.device_created(device.id, token)
    return device, token


def new_device(owner, name, offline_timeout=None, token=None):
    """A device of `owner` and its token (a new one unless given), not yet added to the session (bulk loads add many at once)."""
    token, prefix, token_hash = tokens.new_token() if token is None else (token, token[: tokens.PREFIX_LENGTH], tokens.hash_token(token))
    device = Device(
        id=tokens.new_device_id(),
        owner_id=owner.id,
        name=name,
        token_hash=token_hash,
        token_prefix=prefix,
        broker_password=broker_accounts.broker_password(token),
        offline_timeout=offline_timeout or current_app.config["OFFLINE_TIMEOUT"],
        created_ms=now_ms(),
    )
    return device, token


def owner_for_new_device(actor, owner_email=None):
    """Whom a device that `actor` registers belongs to: the actor, or for an admin any user."""
    if owner_email is None:
        return actor
    if not actor.is_admin:
        raise Forbidden("Only admins create devices for other users.")
    owner = users.find_user(owner_email)
    if owner is None:
        raise NotFound(f"No user with the email {shown(owner_email)}.")
    return owner


def rotate_device_token(device):
    """Give `device` a new token; the old one is refused from the next request on, on every worker."""
    token, prefix, token_hash = tokens.new_token()
    device.token_hash = token_hash
    device.token_prefix = prefix
    device.broker_password = broker_accounts.broker_password(token)
    db.session.commit()
    directory().device_changed(device.id)
    broker_accounts.token_changed(device.id, token)
    return token


def visible_devices(user):
    return ownership.visible_rows(user, Device, Device.name, Device.id)


def visible_device(user, device_id):
    return ownership.visible_row(user, Device, device_id, f"No device with id {shown(device_id)}.", is_id=tokens.is_device_id)


def find_device(device_id):
    device = db.session.get(Device, device_id) if tokens.is_device_id(device_id) else None
    if device is None:
        raise NotFound(f"No device with id {shown(device_id)}.")
    return device


def update_device(device, changes):
    """Apply the given settings (name, offline_timeout, disabled, retention_days)."""
    for name, value in changes.items():
        setattr(device, name, value)
    db.session.commit()
    directory().device_changed(device.id)
    return device


def delete_device(device):
    device_id, owner_id = device.id, device.owner_id
    db.session.delete(device)
    events.emit(events.devices_changed(owner_id))
    directory().device_changed(device_id)
    broker_accounts.device_deleted(device_id)


@dataclass(frozen=True, slots=True)
class BrokerLogin:
    """A device the MQTT broker authenticated: it logged in as its id with its token (broker_accounts.py),
    and its messages arrive on its own topics, which the broker lets no other client publish on."""

    device_id: str


def authenticate_device(token, device_id=None):
    """The identity of the device this token (or BrokerLogin) belongs to.

    With `device_id` (the V2 routes), an unknown id is 404 and a token of
    another device is 403; without it (legacy routes) the token alone finds
    the device.
    """
    if isinstance(token, BrokerLogin):
        device = directory().by_id(token.device_id)
        if device is None:
            raise NotFound(f"No device with id {token.device_id}.")
        return device
    if device_id is not None:
        device = directory().by_id(device_id)
        if device is None:
            raise NotFound(f"No device with id {shown(device_id)}.")
        if not token:
            raise InvalidToken("A device token is required: send it as device_token or Authorization: Bearer.")
        if not tokens.token_matches(token, device.token_hash):
            raise InvalidToken("The device token is not valid for this device.")
        return device
    if not token:
        raise InvalidToken("A device token is required: send it as device_token or Authorization: Bearer.")
    device = directory().by_token(token)
    if device is None:
        raise InvalidToken("The device token is not valid.")
    return device
