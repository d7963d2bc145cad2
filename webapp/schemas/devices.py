"""Devices as their owners manage them (api/, dashboard/): registration, settings, pins, rules, widgets."""
import ipaddress
from typing import Annotated, Literal

import orjson
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from webapp.core.clock import iso_ms
from webapp.schemas.common import MAX_KEYS, Key, RequestModel, State, Text, Timestamp, Value, omittable
from webapp.schemas.device_api import DeviceReport

DeviceName = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OfflineTimeout = Annotated[int, Field(ge=5, le=86400)]


class DeviceCreateIn(RequestModel):
    name: DeviceName
    offline_timeout: OfflineTimeout | None = None
    owner_email: Annotated[Text, StringConstraints(max_length=254)] | None = Field(None, description="Admins only: create the device for this user.")
    device_token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,200}$")] | None = Field(
        None,
        description=(
            "The token the device already has, e.g. its ThingsBoard access token or Blynk auth token, so a fleet moves "
            "without reflashing (docs/MIGRATING.md); 16 to 200 of A-Z a-z 0-9 _ -. Left out: a new one. 409 when another device has it."
        ),
    )


class DeviceUpdateIn(RequestModel):
    """Only the fields sent change. Null is refused except for retention_days, where it restores the server's default."""

    name: DeviceName = omittable()
    offline_timeout: OfflineTimeout = omittable()
    disabled: bool = omittable()
    retention_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class DeviceHealthOut(BaseModel):
    """The device's latest `device` report (docs/ESP32_TELEMETRY_API_GUIDE.md, "Device health"); members it left out are null."""

    fw: str | None = None
    rssi: int | None = None
    heap_free: int | None = None
    heap_min: int | None = None
    heap_max_block: int | None = None
    uptime_s: int | None = None
    reset_reason: str | None = None
    transport: str | None = None
    reported_at: Timestamp
    warnings: list[Literal["weak signal", "low memory"]] = Field(description="What the dashboard flags: a weak signal, low memory.")
    rebooted_itself: bool = Field(description="The last reset was by the watchdog, a panic or a brownout.")

    @classmethod
    def of(cls, health):
        """A HealthView (services/devices/health.py), or None for a device that never reported."""
        if health is None:
            return None
        members = {name: health.report.get(name) for name in DeviceReport.model_fields}
        return cls(**members, reported_at=iso_ms(health.reported_ms), warnings=health.warnings, rebooted_itself=health.rebooted_itself)


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
    health: DeviceHealthOut | None = Field(description="The device's latest health report; null before its first.")
    transport: Literal["http", "mqtt"] | None = Field(description="How the device last talked to the platform (docs/MQTT.md); null before its first request.")

    @classmethod
    def of(cls, device, view, health=None, **extra):
        """A device (models.Device) with its current state (a StateView) and latest health report (a HealthView)."""
        return cls(
            device_id=device.id,
            name=device.name,
            owner=device.owner.email,
            status=device.status,
            last_seen=iso_ms(device.last_seen_ms),
            offline_timeout=device.offline_timeout,
            disabled=device.disabled,
            denied_count=device.denied_count,
            retention_days=device.retention_days,
            token_prefix=device.token_prefix,
            created_at=iso_ms(device.created_ms),
            data=view.data,
            health=DeviceHealthOut.of(health),
            transport=device.transport,
            **extra,
        )


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


RuleIn = Annotated[AllowedKeysRule | RangeRule | SourceNetworkRule, Field(discriminator="type")]


class RulesIn(RequestModel):
    rules: Annotated[list[RuleIn], Field(max_length=50)]


class RuleOut(BaseModel):
    name: str
    type: str
    params: dict
    denied_count: int

    @classmethod
    def of(cls, rule):
        return cls(name=rule.name, type=rule.type, params=orjson.loads(rule.params), denied_count=rule.denied_count)


class RulesOut(BaseModel):
    device_id: str
    disabled: bool
    denied_count: int
    rules: list[RuleOut]

    @classmethod
    def of(cls, device, rules):
        return cls(
            device_id=device.id, disabled=device.disabled, denied_count=device.denied_count, rules=[RuleOut.of(rule) for rule in rules]
        )


WIDGET_KINDS = ("switch", "value", "gauge", "led", "chart")
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None
Bound = Annotated[float, Field(allow_inf_nan=False)] | None


class WidgetIn(RequestModel):
    """A widget as the device page's form submits it."""

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
