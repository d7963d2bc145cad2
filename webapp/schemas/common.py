"""The building blocks of every shape: keys, values, timestamps, the request base class, errors."""
import math
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, Strict, StringConstraints

from webapp.core.ids import MAX_ID

KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
MAX_KEYS = 64

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]


def _not_an_integer(value):
    # A JSON integer beyond 64 bits would otherwise pass as a float, rounded: 1 and 1.0 must stay distinct.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("integers must lie between -2**63 and 2**63 - 1")
    return value


Value = (
    Annotated[bool, Strict()]
    | Annotated[int, Strict(), Field(ge=-(2**63), le=2**63 - 1)]
    | Annotated[float, Strict(), Field(allow_inf_nan=False), BeforeValidator(_not_an_integer)]
    | Annotated[str, StringConstraints(max_length=256)]
)


def _storable(value):
    # Free-form JSON is stored and sent on as JSON text (orjson), which holds neither integers past 64 bits nor
    # NaN or Infinity: refused here (400) rather than by the encoder after the request was accepted (500).
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            raise ValueError("integers must lie between -2**63 and 2**63 - 1")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("NaN and Infinity are not JSON")
    return value


# Any JSON a request may carry for storing as it is: command parameters and results, ThingsBoard RPC.
AnyJson = Annotated[JsonValue, AfterValidator(_storable)]
# additionalProperties: a key not matching the pattern is refused, and the document must say so.
Data = Annotated[dict[Key, Value], Field(max_length=MAX_KEYS, json_schema_extra={"additionalProperties": False})]
State = Annotated[dict[str, Value], Field(description="Current state: reported values, desired values for control pins.")]
DeviceToken = Annotated[str, StringConstraints(max_length=200)]
# Free text stored as is: PostgreSQL text cannot hold NUL, so it is refused here (400), not by the database (500).
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Timestamp = Annotated[str, Field(description="UTC ISO-8601 with milliseconds, e.g. 2026-11-27T17:10:00.123Z")]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]
# A row's id in a request body: past MAX_ID it names no row and the databases overflow (core/ids.py).
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class RequestModel(BaseModel):
    """Requests reject unknown fields, so a misspelt field is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid")


def omittable():
    """A field that may be left out but not sent as null (so the document shows no null default)."""
    return Field(None, json_schema_extra=lambda schema: schema.pop("default", None))


class ErrorOut(BaseModel):
    # Every field an error may carry is declared: a new one must be documented before it can be sent.
    model_config = ConfigDict(extra="forbid")

    error: str = Field(description="A stable machine-readable code.")
    message: str
    rule: str | None = Field(None, description="The rule that denied the request (error `rule_denied`).")
    suggested_bucket: str | None = Field(
        None, description="For `too_many_points` / `too_many_buckets`: the smallest bucket that fits the window."
    )

    @classmethod
    def of(cls, error):
        """The body of an ApiError (core/errors.py): its code, message and the fields it names."""
        return cls(error=error.code, message=error.message, **error.fields)
