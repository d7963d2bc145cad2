"""Devices' accounts on the MQTT broker (docs/MQTT.md): username and client id = device id, password = its token.

The broker is Mosquitto with its dynamic-security plugin. The platform keeps
every device's account in step over `$CONTROL/dynamic-security/v1` as the
device is created, its token regenerated (which refuses the old one at once
and drops the open session: the plugin kicks a client whose password
changes) or deleted. The token itself is kept only as a hash, so each device
row also holds the token as the plugin hashes it (`broker_password`): the
broker's configuration is written from the database at every start
(`flask mqtt broker`), and `reconcile` at the platform's start removes what
the broker has and the database no longer does.
"""
import base64
import hashlib
import logging
import secrets

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Device
from webapp.pubsub.mqtt import BrokerUnreachable, ControlRefused, platform_connection

log = logging.getLogger(__name__)

PLATFORM_ROLE = "thingsnxt-platform"
# The plugin's own hash: PBKDF2-HMAC-SHA512 with a 12-byte salt and 101 iterations (Mosquitto 2.0's defaults).
HASH_ITERATIONS = 101
SALT_BYTES = 12


def broker_password(token):
    """`token` as the broker's plugin stores a password: "iterations$salt$hash", both base64."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", token.encode(), salt, HASH_ITERATIONS)
    return f"{HASH_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def device_role(device_id):
    """The role that gives one device its own topics (Mosquitto 2.0's plugin has no per-client patterns such as %u)."""
    return f"device-{device_id}"


def device_created(device_id, token):
    _send([
        {"command": "createRole", "rolename": device_role(device_id), "acls": _device_acls(device_id)},
        {"command": "createClient", "username": device_id, "clientid": device_id, "password": token, "roles": [{"rolename": device_role(device_id)}]},
    ])


def token_changed(device_id, token):
    """The old token is refused from now on and the device's open session is dropped (the plugin kicks it);
    a device made before the broker kept accounts gets one."""
    if not _send([{"command": "setClientPassword", "username": device_id, "password": token}], refused_ok=True):
        device_created(device_id, token)


def device_deleted(device_id):
    _send(_deletions([device_id]))


def reconcile():
    """Delete the broker's device accounts (and roles) whose device is gone: (their ids, the ids of devices the broker
    lacks, made while it could not be told: it learns them at its next start, or when their token is regenerated)."""
    connection = platform_connection(current_app.config)
    listed = connection.control([{"command": "listClients", "count": -1, "offset": 0}, {"command": "listRoles", "count": -1, "offset": 0}])
    on_broker = set(listed[0]["data"]["clients"]) - {current_app.config["MQTT_ADMIN_USER"]}
    roles = set(listed[1]["data"]["roles"]) - {PLATFORM_ROLE}
    known = dict(db.session.execute(select(Device.id, Device.broker_password)).all())
    db.session.commit()
    gone = sorted(on_broker - set(known))
    stale_roles = sorted(roles - {device_role(device_id) for device_id in known})
    deletions = [{"command": "deleteClient", "username": device_id} for device_id in gone] + [
        {"command": "deleteRole", "rolename": role} for role in stale_roles
    ]
    if deletions:
        connection.control(deletions)
    missing = sorted(device_id for device_id, password in known.items() if password is not None and device_id not in on_broker)
    if missing:
        log.warning("the MQTT broker has no account for %d devices made while it was unreachable; restart it to add them", len(missing))
    return gone, missing


def broker_security_config(admin_user, admin_password):
    """The dynamic-security plugin's configuration: the platform's account and role, and every device's."""
    devices = db.session.execute(select(Device.id, Device.broker_password).where(Device.broker_password.is_not(None))).all()
    db.session.commit()
    return {
        "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": True, "subscribe": False, "unsubscribe": True},
        "clients": [_client(admin_user, broker_password(admin_password), PLATFORM_ROLE)]
        + [_client(device_id, password, device_role(device_id), clientid=device_id) for device_id, password in devices],
        "groups": [],
        "roles": [
            {"rolename": PLATFORM_ROLE, "acls": _acls(True, [
                ("publishClientSend", "#"), ("publishClientReceive", "#"), ("subscribePattern", "#"), ("subscribePattern", "$share/#"),
                ("publishClientSend", "$CONTROL/dynamic-security/#"), ("publishClientReceive", "$CONTROL/dynamic-security/#"),
                ("subscribePattern", "$CONTROL/dynamic-security/#"),
            ])},
        ]
        + [{"rolename": device_role(device_id), "acls": _device_acls(device_id)} for device_id, _ in devices],
    }


def _device_acls(device_id):
    """Publish only under devices/<id>/, except its state, updates and receipts, which the platform alone publishes
    (denied first, by priority); subscribe only to what the platform sends it."""
    own = f"devices/{device_id}/"
    platform_only = [("publishClientSend", own + leaf) for leaf in ("state", "ota", "stored")]
    return _acls(False, platform_only, priority=1) + _acls(
        True, [("publishClientSend", own + "#")] + [("subscribeLiteral", own + leaf) for leaf in ("state", "ota", "errors", "stored")]
    )


def _deletions(device_ids):
    return [{"command": command, key: value} for device_id in device_ids for command, key, value in (
        ("deleteClient", "username", device_id), ("deleteRole", "rolename", device_role(device_id)))]


def _client(username, stored_password, role, clientid=None):
    iterations, salt, digest = stored_password.split("$")
    client = {"username": username, "password": digest, "salt": salt, "iterations": int(iterations), "roles": [{"rolename": role}]}
    return client | ({"clientid": clientid} if clientid else {})


def _acls(allow, entries, priority=0):
    return [{"acltype": acltype, "topic": topic, "priority": priority, "allow": allow} for acltype, topic in entries]


def _send(commands, refused_ok=False):
    """Tell the broker, when there is one; whether it took the commands. A broker that cannot be told
    learns the change at its next start; `refused_ok`: a refusal is the caller's to handle, not logged."""
    connection = platform_connection(current_app.config)
    if connection is None:
        return True
    try:
        connection.control(commands)
    except ControlRefused as refused:
        if not refused_ok:
            log.warning("the MQTT broker refused a device change: %s", refused)
        return False
    except BrokerUnreachable as failed:
        log.warning("the MQTT broker was not told of a device change (%s); it learns it at its next start", failed)
    return True
