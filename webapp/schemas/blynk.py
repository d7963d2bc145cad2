"""Blynk's device HTTP API as it is sent and answered (transports/blynk/)."""
import re
from typing import Annotated

from pydantic import BaseModel, Field, RootModel, TypeAdapter

from webapp.schemas.common import Data, Value
from webapp.schemas.device_api import ReadingTs

VIRTUAL_PIN = re.compile(r"^[vV](\d{1,3})$")
PINS = TypeAdapter(Data)


def pin_key(pin):
    """Our key for a Blynk virtual pin (`V0`…`V255`, any case: `v0`…`v255`), or None for anything else."""
    matched = VIRTUAL_PIN.match(pin)
    return f"v{int(matched[1])}" if matched and int(matched[1]) <= 255 else None


class BlynkHistoryIn(RootModel[Annotated[list[tuple[ReadingTs, Value]], Field(min_length=1)]]):
    """`[[ts, value], …]`: readings of one pin at their times (Unix milliseconds, as Blynk sends them)."""


class BlynkErrorMessage(BaseModel):
    message: str


class BlynkErrorOut(BaseModel):
    error: BlynkErrorMessage


class BlynkValues(RootModel[dict[str, str]]):
    """Several pins' values, as text, by pin name as asked."""


class BlynkLegacyValue(RootModel[list[str]]):
    """One pin's value in the legacy server's shape: `["1"]`."""


class BlynkConnected(RootModel[bool]):
    pass
