"""What devices send and get back (device_api/)."""
from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict, StringConstraints, model_validator

from webapp.core.clock import iso_ms
from webapp.schemas.commands import CommandForDevice
from webapp.schemas.common import Data, DeviceToken, RequestModel, State, Timestamp, Value
from webapp.schemas.ota import OtaOffer

ReadingTs = Annotated[str, StringConstraints(max_length=40)] | Annotated[float, Strict(), Field(allow_inf_nan=False)] | Annotated[int, Strict()]
TS_DESCRIPTION = (
    "When the reading was taken: ISO-8601 (naive means UTC), Unix seconds, or Unix milliseconds "
    "(a number from 100,000,000,000 on counts as milliseconds)."
)
Seq = Annotated[int, Strict(), Field(ge=0, le=2**63 - 1, description="The device's reading counter: +1 per reading, survives reboots. Sent with `boot`.")]
BootId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$"), Field(description="Random id the device picks at every boot. Sent with `seq`.")]
ResetReason = Literal["poweron", "software", "panic", "watchdog", "brownout", "deepsleep", "external", "unknown"]
Count = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]


class DeviceReport(RequestModel):
    """The device's health (firmware, radio, memory), for the dashboard's health panel; every member optional."""

    fw: Annotated[str, StringConstraints(max_length=32, pattern=r"^[^\x00]*$")] | None = None
    rssi: Annotated[int, Strict(), Field(ge=-127, le=0)] | None = None
    heap_free: Count | None = None
    heap_min: Count | None = None
    heap_max_block: Count | None = None
    uptime_s: Count | None = None
    reset_reason: ResetReason | None = None
    transport: Annotated[str, StringConstraints(max_length=16, pattern=r"^[^\x00]*$")] | None = None


class Identified(RequestModel):
    """`seq` and `boot` name a reading (deduplication on device, boot, seq): both or neither."""

    seq: Seq | None = None
    boot: BootId | None = None

    @model_validator(mode="after")
    def _seq_with_boot(self):
        if (self.seq is None) != (self.boot is None):
            raise ValueError("seq and boot go together: send both (the reading's number and the boot it was taken in) or neither")
        return self

    @property
    def identity(self):
        """(boot, seq), or None for a reading the device did not number."""
        return None if self.seq is None else (self.boot, self.seq)


class TelemetryIn(Identified):
    device_token: DeviceToken | None = Field(None, description="Or send `Authorization: Bearer <token>`.")
    data: Data
    ts: ReadingTs | None = Field(None, description=TS_DESCRIPTION + " Left out: when the server stores it.")
    device: DeviceReport | None = None


class BatchRecord(Identified):
    ts: ReadingTs = Field(description=TS_DESCRIPTION)
    data: Data


class BatchIn(RequestModel):
    device_token: DeviceToken | None = None
    records: Annotated[list[BatchRecord], Field(min_length=1)]


COMMANDS_DESCRIPTION = "Present while commands wait for the device: run each once (by id) and reply to it."
OTA_DESCRIPTION = "Present while a firmware update is on offer for the device (docs/OTA.md)."


def _absent_when_none(schema):
    # Left out, not null, when no command waits: the document shows no null default.
    schema.pop("default", None)


def _waiting_commands(view):
    """The `commands` and `ota` members of an answer: only while commands wait or an update is on offer,
    so other devices' answers stay as they were."""
    waiting = {"commands": [CommandForDevice(**command) for command in view.commands]} if view.commands else {}
    if view.ota is not None:
        waiting["ota"] = OtaOffer(**view.ota)
    return waiting


class TelemetryOut(BaseModel):
    message: Literal["ok"]
    device_id: str
    data: State
    timestamp: Timestamp = Field(description="The reading's time: its ts when sent, else when the server stored it.")
    commands: list[CommandForDevice] = Field(None, description=COMMANDS_DESCRIPTION, json_schema_extra=_absent_when_none)
    ota: OtaOffer = Field(None, description=OTA_DESCRIPTION, json_schema_extra=_absent_when_none)

    @classmethod
    def of(cls, stored, **extra):
        """The answer to a stored reading (services/ingest: the committed job, with the state after it)."""
        return cls(
            message="ok", device_id=stored.device_id, data=stored.view.data, timestamp=iso_ms(stored.timestamp_ms), **_waiting_commands(stored.view), **extra
        )


class LegacyTelemetryOut(TelemetryOut):
    led_state: Annotated[dict[str, Value], Field(description="The control pins alone, with their desired values.")]

    @classmethod
    def of(cls, stored):
        return super().of(stored, led_state=stored.view.control)


class LatestOut(BaseModel):
    device_id: str
    data: State
    timestamp: Timestamp | None = Field(description="When the state last changed; null before the first reading.")
    commands: list[CommandForDevice] = Field(None, description=COMMANDS_DESCRIPTION, json_schema_extra=_absent_when_none)
    ota: OtaOffer = Field(None, description=OTA_DESCRIPTION, json_schema_extra=_absent_when_none)

    @classmethod
    def of(cls, view):
        return cls(device_id=view.device_id, data=view.data, timestamp=iso_ms(view.changed_ms), **_waiting_commands(view))


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
