"""The tables.

Times are integer milliseconds since the Unix epoch (UTC) in every table, so
that presence and history arithmetic (`last_seen_ms + timeout`, time buckets)
is the same plain integer SQL on SQLite and PostgreSQL.
"""
from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db

# SQLite gives an autoincrementing key only to INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_ms: Mapped[int] = mapped_column(BigInteger)

    devices: Mapped[list["Device"]] = relationship(back_populates="owner", passive_deletes=True)


class LoginFailure(db.Model):
    """Wrong passwords tried for one email since its last login (services/accounts/login_attempts.py).

    Kept by email rather than by user, so an email without an account is slowed down alike and
    the delay does not tell which emails have accounts.
    """

    __tablename__ = "login_failures"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class ApiToken(db.Model):
    """A personal API token: `Authorization: Bearer` for scripts acting as a user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_used_ms: Mapped[int | None] = mapped_column(BigInteger)

    user: Mapped[User] = relationship()


class Device(db.Model):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    # The token as the MQTT broker's dynamic-security plugin hashes a password (services/devices/broker_accounts.py),
    # so the broker's accounts are written from here at its start; None for devices made before (until a new token).
    broker_password: Mapped[str | None] = mapped_column(String(200))
    # How the device last talked: "http" or "mqtt", set as it is marked seen (services/ingest/writer.py); None before its first request.
    transport: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="offline", index=True)
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The random id of the request or sweep that made the last status change:
    # reading it back from the same UPDATE tells who made the change.
    presence_claim: Mapped[int] = mapped_column(BigInteger, default=0)
    offline_timeout: Mapped[int] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    denied_count: Mapped[int] = mapped_column(BigInteger, default=0)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    # The numbers (seq) its readings carried, per boot id, as JSON (services/ingest/reading_numbers.py): a
    # reading whose number is here is a repeat, not stored again. Here because the ingest writer rewrites
    # this row in every transaction anyway.
    reading_numbers: Mapped[str | None] = mapped_column(Text)

    owner: Mapped[User] = relationship(back_populates="devices")


class DeviceState(db.Model):
    """The current value of one key of one device.

    `reported` is what the device last said; `desired` is set by a person or
    the API and makes the key a control pin, whose current value is `desired`.
    Values are stored as JSON text so that 1, 1.0, true and "1" stay distinct.
    """

    __tablename__ = "device_state"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    reported: Mapped[str | None] = mapped_column(Text)
    reported_ms: Mapped[int | None] = mapped_column(BigInteger)
    desired: Mapped[str | None] = mapped_column(Text)
    desired_ms: Mapped[int | None] = mapped_column(BigInteger)


class Reading(db.Model):
    """One accepted reading of one key: the history behind charts and exports.

    The primary key (device, key, ts) makes batch uploads idempotent and is
    the one index every history query and the retention prune walk; it is
    laid out so that reading a key's window touches no other rows (measured
    in bench/history_bench.py): on SQLite the table is the primary key
    (WITHOUT ROWID), so a key's readings lie together; on PostgreSQL the
    index also carries num and value, so history reads are index-only.
    """

    __tablename__ = "readings"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    num: Mapped[float | None] = mapped_column(Float)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        PrimaryKeyConstraint("device_id", "key", "ts_ms", name="readings_pkey", postgresql_include=["num", "value"]),
        {"sqlite_with_rowid": False},
    )


class Rule(db.Model):
    """A security rule checked on every ingest of its device."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text)
    denied_count: Mapped[int] = mapped_column(BigInteger, default=0)


class Notification(db.Model):
    """Something a user should know about one of their devices."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    read_ms: Mapped[int | None] = mapped_column(BigInteger)
    # Repeats of the same kind for the same device swallowed by the cooldown.
    muted_count: Mapped[int] = mapped_column(Integer, default=0)
    # A summary (no device): how many devices' notifications of its kind were folded into it.
    grouped_count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_ms"),)


class NotificationCooldown(db.Model):
    """When a device last notified of a kind; claimed atomically so repeats within the cooldown are muted."""

    __tablename__ = "notification_cooldowns"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_sent_ms: Mapped[int] = mapped_column(BigInteger)
    notification_id: Mapped[int | None] = mapped_column(BigInteger)


class NotificationGroup(db.Model):
    """An owner's notifications of one kind in the window that began at `window_start_ms`: `sent` of them,
    those past NOTIFICATION_GROUP_AFTER folded into notification `summary_id`, which names the devices `named`
    (a JSON list). Claimed atomically, like the cooldown, so that workers folding at once count into one summary."""

    __tablename__ = "notification_groups"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_start_ms: Mapped[int] = mapped_column(BigInteger)
    sent: Mapped[int] = mapped_column(Integer)
    summary_id: Mapped[int | None] = mapped_column(BigInteger)
    named: Mapped[str] = mapped_column(Text)


class AlertRule(db.Model):
    """A threshold on one key of a device (services/alerts/): `ok`, `pending` while its condition has
    held for less than `for_seconds`, `active` once raised, until a reading no longer meets it.

    `condition` is `>`, `<`, `=` (against `threshold`, a value as stored), `outside` (`low`–`high`)
    or `no_data` (the key has sent nothing for `for_seconds`). `seen_ms` is the newest reading
    evaluated: older ones (a batch from the past) change nothing, and a "no data" rule counts from it.
    """

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[str | None] = mapped_column(Text)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    for_seconds: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(8), default="ok")
    # When the state began: the first reading that met the condition (pending), the raise (active).
    since_ms: Mapped[int | None] = mapped_column(BigInteger)
    seen_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_value: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class AlertEvent(db.Model):
    """An alert raised or cleared: a device's alert history. It outlives its rule (no foreign key to it)."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    at_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_alert_events_device_id_id", "device_id", "id"),)


class Widget(db.Model):
    """One tile of a device's dashboard, bound to a key of the device's state.

    A switch drives a control pin; value, gauge and LED show a key's current
    value; a chart plots its history. `min_value`/`max_value` are a gauge's scale.
    """

    __tablename__ = "widgets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(16))
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Webhook(db.Model):
    """An HTTP endpoint that receives a device's events, signed with its secret.

    The secret is kept in clear because every delivery is signed with it
    (HMAC needs the key itself); it is shown once and never logged.
    """

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # The subscribed events between commas (",online,offline,"), so one LIKE tests membership in SQL.
    events: Mapped[str] = mapped_column(String(100))
    secret: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Failures since the last success; while failing, deliveries wait until paused_until_ms.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since_ms: Mapped[int | None] = mapped_column(BigInteger)
    paused_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)

    @property
    def event_names(self):
        return [event for event in self.events.split(",") if event]


class WebhookDelivery(db.Model):
    """One event for one webhook: the outbox row, written in the transaction of the event itself.

    Due while `next_attempt_ms` is set (NULL once delivered or given up); a
    worker leases it by setting `claimed_until_ms` and its random `claim`.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    # The X-ThingsNXT-Delivery header: the same on every retry, for receivers to deduplicate.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    next_attempt_ms: Mapped[int | None] = mapped_column(BigInteger, index=True)
    claimed_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    claim: Mapped[int | None] = mapped_column(BigInteger)
    completed_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),)


class WebhookAttempt(db.Model):
    """One HTTP attempt at a delivery: what the device page lists."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    webhook_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[int] = mapped_column(Integer)
    attempted_ms: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_webhook_attempts_device_id_id", "device_id", "id"),)
class ScheduledJob(db.Model):
    """When a periodic job that one worker at a time runs (the history prune) is next due.

    A worker takes a run by moving `due_ms` forward in one UPDATE … WHERE
    due_ms <= now; with any number of workers exactly one such UPDATE matches.
    """

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_ms: Mapped[int] = mapped_column(BigInteger)


class LoginSession(db.Model):
    """A browser's login. The session cookie carries its secret, this row its hash: logging out deletes
    the row, so a copy of the cookie kept from before is refused (a signed cookie alone stays valid)."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)


class DeviceHealth(db.Model):
    """The latest `device` report of a device (firmware, signal, memory, uptime, reset reason), as JSON text."""

    __tablename__ = "device_health"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    report: Mapped[str] = mapped_column(Text)
    reported_ms: Mapped[int] = mapped_column(BigInteger)


class ProvisioningKey(db.Model):
    """A fleet key: devices presenting `key` and the secret get a device of the owner's each, once per hardware id.

    The secret is random, so like device tokens only its SHA-256 is kept; it is shown once.
    """

    __tablename__ = "provisioning_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    max_devices: Mapped[int] = mapped_column(Integer)
    # Claimed by an atomic UPDATE … WHERE devices_created < max_devices, so a fleet booting at once never exceeds it.
    devices_created: Mapped[int] = mapped_column(Integer, default=0)
    expires_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_used_ms: Mapped[int | None] = mapped_column(BigInteger)
    refused_count: Mapped[int] = mapped_column(BigInteger, default=0)

    owner: Mapped[User] = relationship()


class ProvisionedDevice(db.Model):
    """Which device a hardware id got from a provisioning key: provisioning it again gives the same device a new token."""

    __tablename__ = "provisioned_devices"

    key_id: Mapped[int] = mapped_column(ForeignKey("provisioning_keys.id", ondelete="CASCADE"), primary_key=True)
    hardware_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    provisioned_ms: Mapped[int] = mapped_column(BigInteger)
    times: Mapped[int] = mapped_column(Integer, default=1)


class ProvisioningRefusal(db.Model):
    """A refused attempt with a known key (wrong secret, expired, used up), for its owner to see."""

    __tablename__ = "provisioning_refusals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("provisioning_keys.id", ondelete="CASCADE"))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    hardware_id: Mapped[str | None] = mapped_column(String(100))
    source_ip: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_provisioning_refusals_key_id_id", "key_id", "id"),)


class Command(db.Model):
    """A command (RPC) an owner sent a device: `method` and `params` (JSON text), and its reply once answered.

    Status: queued → delivered (in an answer the device received) → answered,
    or timed_out when `expires_ms` passes first.
    """

    __tablename__ = "commands"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    result: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger)
    answered_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_commands_device_id_id", "device_id", "id"),
        # The sweep's search for commands past their timeout.
        Index("ix_commands_status_expires_ms", "status", "expires_ms"),
    )


class FirmwareImage(db.Model):
    """A firmware image an owner uploaded: the bytes are a file named by their SHA-256 (services/ota/images.py), not a row."""

    __tablename__ = "firmware_images"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Rollout(db.Model):
    """An image sent to several devices: the first `stage_percent` of them, then the rest once those booted it.

    Status: active → done, or paused (and active again), or cancelled.
    """

    __tablename__ = "rollouts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    firmware_id: Mapped[int] = mapped_column(ForeignKey("firmware_images.id", ondelete="CASCADE"))
    stage_percent: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class OtaUpdate(db.Model):
    """One image sent to one device, and how far it got (services/ota/updates.py has the states and their order).

    A device has at most one update in progress; the finished ones are its update history.
    """

    __tablename__ = "ota_updates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    firmware_id: Mapped[int] = mapped_column(ForeignKey("firmware_images.id", ondelete="CASCADE"))
    rollout_id: Mapped[int | None] = mapped_column(ForeignKey("rollouts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    # Bytes downloaded, as the device last reported.
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    # The version the device reported before the update (its health report's fw): reported again after "applied", it rolled back.
    from_version: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)

    firmware: Mapped[FirmwareImage] = relationship()

    __table_args__ = (Index("ix_ota_updates_device_id_id", "device_id", "id"), Index("ix_ota_updates_status", "status"))
