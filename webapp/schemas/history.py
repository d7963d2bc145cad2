"""A device key's history (api/history.py): the query, and raw points or time buckets."""
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from webapp.core import values
from webapp.core.clock import iso_ms
from webapp.schemas.common import Key, Timestamp, Value


class HistoryQuery(BaseModel):
    """Query parameters of GET /api/devices/{id}/history; unknown parameters are ignored (cache busters)."""

    model_config = ConfigDict(populate_by_name=True)

    key: Key = Field(description="The key to read, e.g. temperature or v0.")
    from_: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None,
        alias="from",
        description=(
            "Start of the window (inclusive): ISO-8601 with any offset (naive means UTC; encode + as %2B) or Unix seconds. "
            "Default: 24 h before `to`."
        ),
    )
    to: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="End of the window (exclusive), same forms as `from`. Default: now."
    )
    bucket: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None,
        description=(
            "Aggregate into time buckets of this width: 30s, 1m, 5m, 1h, 1d, 1w or whole seconds (300). "
            "Buckets align to the Unix epoch (1d = UTC days). Omit for raw points."
        ),
    )
    points: int | None = Field(
        None,
        ge=2,
        description=(
            "The most points the client can draw (a chart: its width in pixels), at most HISTORY_MAX_BUCKETS: the readings "
            "themselves when the window holds no more, else buckets of whole seconds sized to give at most this many "
            "(min, max, avg and last of each). Not with `bucket`."
        ),
    )
    fit: bool = Field(
        False,
        description="Instead of `from`: start at the shortest of 1 h, 1 d and 7 d before `to` that holds every reading of the key in the last 7 d.",
    )
    format: Literal["json", "csv"] = Field("json", description="csv streams every reading (or bucket) in the window as a download, without the limits.")


class HistoryPoint(BaseModel):
    t: Timestamp
    value: Value

    @classmethod
    def of(cls, row):
        """A stored reading: its `ts_ms` and its `value` as stored (JSON text)."""
        return cls(t=iso_ms(row.ts_ms), value=values.decode(row.value))


class HistoryBucket(BaseModel):
    t: Timestamp = Field(description="Start of the bucket.")
    count: int = Field(description="Readings in the bucket, strings included.")
    min: float | None = Field(description="Of the numeric readings (true = 1, false = 0); null when all are strings.")
    max: float | None
    avg: float | None
    last: Value = Field(description="The bucket's newest reading, as it was sent.")

    @classmethod
    def of(cls, row, bucket_ms):
        return cls(t=iso_ms(row.bucket * bucket_ms), count=row.count, min=row.min, max=row.max, avg=row.avg, last=values.decode(row.last))


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

    @classmethod
    def of(cls, history):
        """A services.history.query.History: the window read, with its points or its buckets."""
        window = history.window
        shape = {"device_id": history.device_id, "key": history.key, "from": iso_ms(window.start_ms), "to": iso_ms(window.end_ms)}
        if window.bucket_ms is None:
            return cls(**shape, bucket=None, points=[HistoryPoint.of(row) for row in history.rows])
        return cls(**shape, bucket=window.bucket_ms // 1000, buckets=[HistoryBucket.of(row, window.bucket_ms) for row in history.rows])
