"""Request and response shapes of the JSON API: the one source of validation and of /openapi.json."""
import ipaddress
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints, model_validator

KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
MAX_KEYS = 64

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]


def _not_an_integer(value):
    # A JSON integer beyond 64 bits would otherwise pass as a float, rounded: 1 and 1.0 must stay distinct.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("integers must lie between -2**63 and 2**63 - 1")
    return value


Value = Union[
    Annotated[bool, Strict()],
    Annotated[int, Strict(), Field(ge=-(2**63), le=2**63 - 1)],
    Annotated[float, Strict(), Field(allow_inf_nan=False), BeforeValidator(_not_an_integer)],
    Annotated[str, StringConstraints(max_length=256)],
]
# additionalProperties: a key not matching the pattern is refused, and the document must say so.
Data = Annotated[dict[Key, Value], Field(max_length=MAX_KEYS, json_schema_extra={"additionalProperties": False})]
State = Annotated[dict[str, Value], Field(description="Current state: reported values, desired values for control pins.")]
DeviceToken = Annotated[str, StringConstraints(max_length=200)]
# Free text stored as is: PostgreSQL text cannot hold NUL, so it is refused here (400), not by the database (500).
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Timestamp = Annotated[str, Field(description="UTC ISO-8601 with milliseconds, e.g. 2026-11-27T17:10:00.123Z")]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]


class RequestModel(BaseModel):
    """Requests reject unknown fields, so a misspelt field is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid")


# Device-facing requests


ReadingTs = Union[Annotated[str, StringConstraints(max_length=40)], Annotated[float, Strict(), Field(allow_inf_nan=False)], Annotated[int, Strict()]]
Seq = Annotated[int, Strict(), Field(ge=0, le=2**63 - 1, description="The device's reading counter: +1 per reading, survives reboots. Accepted, not yet used.")]
BootId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$"), Field(description="Random id the device picks at every boot. Accepted, not yet used.")]
ResetReason = Literal["poweron", "software", "panic", "watchdog", "brownout", "deepsleep", "external", "unknown"]
Count = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]


class DeviceReport(RequestModel):
    """The device's health (firmware, radio, memory), for the dashboard's health panel. Accepted, not yet used."""

    fw: Annotated[str, StringConstraints(max_length=32)] | None = None
    rssi: Annotated[int, Strict(), Field(ge=-127, le=0)] | None = None
    heap_free: Count | None = None
    heap_min: Count | None = None
    heap_max_block: Count | None = None
    uptime_s: Count | None = None
    reset_reason: ResetReason | None = None
    transport: Annotated[str, StringConstraints(max_length=16)] | None = None


class TelemetryIn(RequestModel):
    device_token: DeviceToken | None = Field(None, description="Or send `Authorization: Bearer <token>`.")
    data: Data
    seq: Seq | None = None
    boot: BootId | None = None
    ts: ReadingTs | None = Field(None, description="When the reading was taken, once the device's clock is set. Accepted, not yet used.")
    device: DeviceReport | None = None


class BatchRecord(RequestModel):
    ts: ReadingTs = Field(description="When the reading was taken: ISO-8601 (naive means UTC) or Unix seconds.")
    data: Data
    seq: Seq | None = None
    boot: BootId | None = None


class BatchIn(RequestModel):
    device_token: DeviceToken | None = None
    records: Annotated[list[BatchRecord], Field(min_length=1)]


# Device-facing responses


class TelemetryOut(BaseModel):
    message: Literal["ok"]
    device_id: str
    data: State
    timestamp: Timestamp


class LegacyTelemetryOut(TelemetryOut):
    led_state: Annotated[dict[str, Value], Field(description="The control pins alone, with their desired values.")]


class LatestOut(BaseModel):
    device_id: str
    data: State
    timestamp: Timestamp | None = Field(description="When the state last changed; null before the first reading.")


class BatchOut(BaseModel):
    accepted: int
    duplicates: int


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="unavailable (503): the database is unreachable; degraded (200): Redis is, so live updates stay within each worker."
    )
    database: Literal["ok", "unavailable"]
    redis: Literal["ok", "unavailable", "absent"] = Field(description="absent: no REDIS_URL is configured (one worker, nothing to share).")
    time: Timestamp


class ErrorOut(BaseModel):
    error: str = Field(description="A stable machine-readable code.")
    message: str
    rule: str | None = Field(None, description="The rule that denied the request (error `rule_denied`).")
    suggested_bucket: str | None = Field(
        None, description="For `too_many_points` / `too_many_buckets`: the smallest bucket that fits the window."
    )


# Owner- and admin-facing requests and responses


DeviceName = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class DeviceCreateIn(RequestModel):
    name: DeviceName
    offline_timeout: Annotated[int, Field(ge=5, le=86400)] | None = None
    owner_email: Annotated[Text, StringConstraints(max_length=254)] | None = Field(None, description="Admins only: create the device for this user.")


def _omittable():
    """A field that may be left out but not sent as null (so the document shows no null default)."""
    return Field(None, json_schema_extra=lambda schema: schema.pop("default", None))


class DeviceUpdateIn(RequestModel):
    """Only the fields sent change. Null is refused except for retention_days, where it restores the server's default."""

    name: DeviceName = _omittable()
    offline_timeout: Annotated[int, Field(ge=5, le=86400)] = _omittable()
    disabled: bool = _omittable()
    retention_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class DeviceOut(BaseModel):
    device_id: str
    name: str
    owner: str
    status: Literal["online", "offline"]
    last_seen: Timestamp | None
    offline_timeout: int
    disabled: bool
    denied_count: int
    retention_days: int | None
    token_prefix: str
    created_at: Timestamp
    data: State


class DeviceListOut(BaseModel):
    devices: list[DeviceOut]


class DeviceCreatedOut(DeviceOut):
    device_token: str = Field(description="Shown once; only its hash is stored.")


class TokenOut(BaseModel):
    device_id: str
    device_token: str = Field(description="Shown once; the previous token is refused from now on.")
    token_prefix: str


class PinIn(RequestModel):
    value: Value


class PinOut(BaseModel):
    device_id: str
    key: str
    value: Value
    pending: bool = Field(description="True until the device reports the desired value.")
    data: State


def _network(value):
    ipaddress.ip_network(value, strict=False)
    return value


class AllowedKeysRule(RequestModel):
    name: Key
    type: Literal["allowed_keys"]
    keys: Annotated[list[Key], Field(min_length=1, max_length=MAX_KEYS * 4)]


class RangeRule(RequestModel):
    name: Key
    type: Literal["range"]
    key: Key
    min: Annotated[float, Field(allow_inf_nan=False)] | None = None
    max: Annotated[float, Field(allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _bounds_in_order(self):
        if self.min is None and self.max is None:
            raise ValueError("a range rule needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class SourceNetworkRule(RequestModel):
    name: Key
    type: Literal["source_network"]
    networks: Annotated[list[Annotated[str, AfterValidator(_network)]], Field(min_length=1, max_length=100)]


RuleIn = Annotated[Union[AllowedKeysRule, RangeRule, SourceNetworkRule], Field(discriminator="type")]


class RulesIn(RequestModel):
    rules: Annotated[list[RuleIn], Field(max_length=50)]


class RuleOut(BaseModel):
    name: str
    type: str
    params: dict
    denied_count: int


class RulesOut(BaseModel):
    device_id: str
    disabled: bool
    denied_count: int
    rules: list[RuleOut]


# Webhooks

WebhookEvent = Literal["telemetry", "online", "offline", "rule_denied"]
WebhookEvents = Annotated[list[WebhookEvent], Field(min_length=1, max_length=4, description="The events to send.")]


class WebhookCreateIn(RequestModel):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)] = Field(
        description="http(s) URL of a public host (private addresses only with WEBHOOK_ALLOW_PRIVATE=1)."
    )
    events: WebhookEvents
    secret: Annotated[str, StringConstraints(min_length=16, max_length=256)] | None = Field(
        None, description="The signing secret; generated when omitted. Returned once, in this response."
    )


class WebhookUpdateIn(RequestModel):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)] | None = None
    events: WebhookEvents | None = None
    enabled: bool | None = Field(None, description="true re-enables a webhook disabled after failing, clearing its failures.")


class WebhookOut(BaseModel):
    id: int
    device_id: str
    url: str
    events: list[WebhookEvent]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int = Field(description="Failed attempts since the last success.")
    failing_since: Timestamp | None
    created_at: Timestamp


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Shown once: verify X-ThingsNXT-Signature with it.")


class WebhookListOut(BaseModel):
    webhooks: list[WebhookOut]


class WebhookAttemptOut(BaseModel):
    webhook_id: int
    delivery_id: str = Field(description="The X-ThingsNXT-Delivery header: the same on every attempt of one event.")
    event: WebhookEvent
    attempt: int = Field(description="1 for the first attempt of this delivery.")
    attempted_at: Timestamp
    duration_ms: int
    status_code: int | None = Field(description="The receiver's HTTP status; null when no response came.")
    ok: bool
    error: str | None
    delivery_status: Literal["pending", "delivered", "failed"] = Field(description="failed: given up after the retry window, or the webhook was disabled.")
    next_attempt_at: Timestamp | None


class WebhookAttemptsOut(BaseModel):
    attempts: list[WebhookAttemptOut]


# Notifications


class NotificationOut(BaseModel):
    id: int
    device_id: str | None
    kind: str = Field(description="online, offline, rule_denied or webhook_failing.")
    message: str
    muted_count: int = Field(description="Repeats within the cooldown that were not notified separately.")
    created_at: Timestamp
    read: bool


class NotificationListOut(BaseModel):
    notifications: list[NotificationOut]
    unread_count: int


class NotificationsReadIn(RequestModel):
    ids: Annotated[list[int], Field(max_length=1000)] | None = Field(None, description="The notifications to mark read; all when omitted.")


class NotificationsReadOut(BaseModel):
    marked: int
    unread_count: int
# History


class HistoryQuery(BaseModel):
    """Query parameters of GET /api/devices/{id}/history; unknown parameters are ignored (cache busters)."""

    model_config = ConfigDict(populate_by_name=True)

    key: Key = Field(description="The key to read, e.g. temperature or v0.")
    from_: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None,
        alias="from",
        description="Start of the window (inclusive): ISO-8601 with any offset (naive means UTC; encode + as %2B) or Unix seconds. Default: 24 h before `to`.",
    )
    to: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="End of the window (exclusive), same forms as `from`. Default: now."
    )
    bucket: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None,
        description="Aggregate into time buckets of this width: 30s, 1m, 5m, 1h, 1d, 1w or whole seconds (300). Buckets align to the Unix epoch (1d = UTC days). Omit for raw points.",
    )
    format: Literal["json", "csv"] = Field("json", description="csv streams every reading (or bucket) in the window as a download, without the limits.")


class HistoryPoint(BaseModel):
    t: Timestamp
    value: Value


class HistoryBucket(BaseModel):
    t: Timestamp = Field(description="Start of the bucket.")
    count: int = Field(description="Readings in the bucket, strings included.")
    min: float | None = Field(description="Of the numeric readings (true = 1, false = 0); null when all are strings.")
    max: float | None
    avg: float | None
    last: Value = Field(description="The bucket's newest reading, as it was sent.")


class HistoryOut(BaseModel):
    device_id: str
    key: str
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    bucket: int | None = Field(description="Bucket width in seconds; null for raw points.")
    points: list[HistoryPoint] | None = Field(None, description="Raw mode: every reading in the window, oldest first.")
    buckets: list[HistoryBucket] | None = Field(
        None, description="Bucket mode: buckets holding readings, oldest first; empty buckets are omitted."
    )


# Dashboard widgets (the dashboard's forms validate with these)

WIDGET_KINDS = ("switch", "value", "gauge", "led", "chart")
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None
Bound = Annotated[float, Field(allow_inf_nan=False)] | None


class WidgetIn(RequestModel):
    kind: Literal[WIDGET_KINDS]
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    key: Key | None = Field(None, description="The pin or key shown; a new switch without one gets the lowest free virtual pin.")
    unit: OptionalText = None
    min: Bound = None
    max: Bound = None

    @model_validator(mode="after")
    def _complete(self):
        if self.key is None and self.kind != "switch":
            raise ValueError("key is required: the pin or sensor key this widget shows, e.g. v1 or temperature")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be less than max")
        return self
