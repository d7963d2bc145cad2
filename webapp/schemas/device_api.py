"""What devices send and get back (device_api/)."""
from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict, StringConstraints

from webapp.core.clock import iso_ms
from webapp.schemas.common import Data, DeviceToken, RequestModel, State, Timestamp, Value

ReadingTs = Annotated[str, StringConstraints(max_length=40)] | Annotated[float, Strict(), Field(allow_inf_nan=False)] | Annotated[int, Strict()]
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


class TelemetryOut(BaseModel):
    message: Literal["ok"]
    device_id: str
    data: State
    timestamp: Timestamp

    @classmethod
    def of(cls, stored, **extra):
        """The answer to a stored reading (services/ingest: the committed job, with the state after it)."""
        return cls(message="ok", device_id=stored.device_id, data=stored.view.data, timestamp=iso_ms(stored.timestamp_ms), **extra)


class LegacyTelemetryOut(TelemetryOut):
    led_state: Annotated[dict[str, Value], Field(description="The control pins alone, with their desired values.")]

    @classmethod
    def of(cls, stored):
        return super().of(stored, led_state=stored.view.control)


class LatestOut(BaseModel):
    device_id: str
    data: State
    timestamp: Timestamp | None = Field(description="When the state last changed; null before the first reading.")

    @classmethod
    def of(cls, view):
        return cls(device_id=view.device_id, data=view.data, timestamp=iso_ms(view.changed_ms))


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
