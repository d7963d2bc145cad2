"""Who a device token belongs to, which rules bind that device and whether it has webhooks or
alert rules or commands waiting, cached in each worker process.

Every device request needs these; reading them from the database each time
cost more than the rest of the request. The first lookup loads every device
and rule at once: after a restart, a fleet's devices would otherwise cost a
query each on every worker, just when they all come back. An entry is
forgotten the moment the
device changes (token rotated, disabled, rules replaced, webhook or alert
rule added or removed, deleted): in the process that made the change and on
every other worker, before the change returns (the `devices` broadcast is
confirmed by every listening worker, pubsub/broker.py `publish_confirmed`),
so a rotated token is refused everywhere from the next request on.
"""
import threading
from dataclasses import dataclass

import orjson
from flask import current_app
from sqlalchemy import select

from webapp.core import tokens
from webapp.extensions import db
from webapp.models import AlertRule, Command, Device, OtaUpdate, Rule, Webhook

CHANNEL = "devices"
_IDENTITY_COLUMNS = (
    Device.id,
    Device.owner_id,
    Device.disabled,
    Device.token_hash,
    select(Webhook.id).where(Webhook.device_id == Device.id).exists().label("has_webhooks"),
    select(AlertRule.id).where(AlertRule.device_id == Device.id).exists().label("has_alert_rules"),
    select(Command.id).where(Command.device_id == Device.id, Command.status.in_(("queued", "delivered"))).exists().label("has_commands"),
    # services/ota/updates.py OFFERED (not imported: the directory is below the services).
    select(OtaUpdate.id).where(OtaUpdate.device_id == Device.id, OtaUpdate.status.in_(("assigned", "downloading", "verifying"))).exists().label("has_ota"),
)


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What the ingest path needs to know about an authenticated device."""

    id: str
    owner_id: int
    disabled: bool
    token_hash: str
    # Whether any webhook (enabled or not) belongs to the device: without one, ingest skips the outbox query.
    has_webhooks: bool
    # Likewise for alert rules: without one, ingest evaluates no alerts.
    has_alert_rules: bool
    # Whether a command waits for the device (queued, or delivered and not answered): without one, ingest skips the commands query.
    has_commands: bool
    # Whether an update may be on offer (services/ota/updates.py): without one, answers skip the offer query.
    has_ota: bool


@dataclass(frozen=True, slots=True)
class CachedRule:
    id: int
    name: str
    type: str
    params: dict


class DeviceDirectory:
    def __init__(self, broker):
        self._broker = broker
        self._lock = threading.Lock()
        self._by_token_hash = {}
        self._by_id = {}
        self._rules = {}
        self._listening = False
        self._listen_lock = threading.Lock()
        self._loaded = False
        self._load_lock = threading.Lock()
        # Bumped by every forget: a load that began before it must not store what it read.
        self._generation = 0

    def by_token(self, token):
        """The identity owning `token`, or None."""
        token_hash = tokens.hash_token(token)
        return self._lookup(self._by_token_hash, token_hash, Device.token_hash)

    def by_id(self, device_id):
        """The identity of device `device_id`, or None."""
        if not tokens.is_device_id(device_id):
            return None
        return self._lookup(self._by_id, device_id, Device.id)

    def _lookup(self, cache, key, column):
        self._ready()
        identity = cache.get(key)
        if identity is None:
            identity = self._load(column == key)
        return identity

    def may_have(self, device_id, what):
        """False only for a cached device known to have none of `what` ("webhooks", "alert_rules",
        "commands", "ota"). Never reads the database: the ingest writer asks inside its own transaction,
        and SQLite's pool has one connection."""
        identity = self._by_id.get(device_id)
        return identity is None or getattr(identity, "has_" + what)

    def rules(self, device_id):
        self._ready()
        rules = self._rules.get(device_id)
        if rules is None:
            generation = self._generation
            rows = db.session.execute(
                select(Rule.id, Rule.name, Rule.type, Rule.params).where(Rule.device_id == device_id).order_by(Rule.position)
            ).all()
            rules = tuple(CachedRule(row.id, row.name, row.type, orjson.loads(row.params)) for row in rows)
            with self._lock:
                if generation == self._generation:
                    self._rules[device_id] = rules
        return rules

    def device_changed(self, device_id):
        """Forget the device here and on every other worker; returns once they all have."""
        self.forget(device_id)
        self._broker.publish_confirmed(CHANNEL, {"type": "device_changed", "device_id": device_id})

    def forget(self, device_id):
        with self._lock:
            self._generation += 1
            identity = self._by_id.pop(device_id, None)
            if identity is not None:
                self._by_token_hash.pop(identity.token_hash, None)
            self._rules.pop(device_id, None)

    def _load(self, condition):
        generation = self._generation
        row = db.session.execute(select(*_IDENTITY_COLUMNS).where(condition)).first()
        if row is None:
            return None
        identity = DeviceIdentity(*row)
        with self._lock:
            if generation == self._generation:
                self._by_id[identity.id] = identity
                self._by_token_hash[identity.token_hash] = identity
        return identity

    def _ready(self):
        self._listen_for_changes()
        if not self._loaded:
            self._load_everything()

    def _load_everything(self):
        with self._load_lock:
            if self._loaded:
                return
            generation = self._generation
            identities = [DeviceIdentity(*row) for row in db.session.execute(select(*_IDENTITY_COLUMNS))]
            rules = {identity.id: [] for identity in identities}
            for row in db.session.execute(select(Rule.device_id, Rule.id, Rule.name, Rule.type, Rule.params).order_by(Rule.device_id, Rule.position)):
                rules.setdefault(row.device_id, []).append(CachedRule(row.id, row.name, row.type, orjson.loads(row.params)))
            with self._lock:
                # A change during the load may be missing from it: then entries load one by one instead.
                if generation == self._generation:
                    self._by_id.update((identity.id, identity) for identity in identities)
                    self._by_token_hash.update((identity.token_hash, identity) for identity in identities)
                    self._rules.update((device_id, tuple(device_rules)) for device_id, device_rules in rules.items())
                self._loaded = True

    def _listen_for_changes(self):
        # Registered on first use, inside the serving process, so the broker's listener never starts before gevent patches it.
        if not self._listening:
            with self._listen_lock:
                if not self._listening:
                    self._broker.on(CHANNEL, self._forget_changed)
                    self._listening = True

    def _forget_changed(self, event):
        if event.get("type") == "device_changed":
            self.forget(event["device_id"])


def directory():
    return current_app.extensions["device_directory"]
