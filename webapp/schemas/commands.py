"""Commands (RPC) owners send devices (api/devices.py, dashboard/) and devices take and answer (device_api/)."""
from typing import Annotated, Literal

from pydantic import BaseModel, Field, JsonValue

from webapp.schemas.common import AnyJson, DeviceToken, Key, RequestModel, Timestamp

CommandTimeout = Annotated[int, Field(ge=1, le=86400, description="Seconds the device has to answer; then the command times out.")]


class CommandIn(RequestModel):
    method: Key
    params: AnyJson = Field(default_factory=dict, description="Any JSON; {} when left out.")
    timeout: CommandTimeout = 30


class CommandOut(BaseModel):
    id: int
    device_id: str
    method: str
    params: JsonValue
    status: Literal["queued", "delivered", "answered", "timed_out"]
    result: JsonValue = Field(description="The device's reply once answered, else null.")
    created_at: Timestamp
    expires_at: Timestamp
    delivered_at: Timestamp | None
    answered_at: Timestamp | None

    @classmethod
    def of(cls, described):
        """A command as services/devices/commands.py describes it."""
        return cls(**described)


class CommandListOut(BaseModel):
    commands: list[CommandOut]


class CommandForDevice(BaseModel):
    """A command as the device gets it; it replies with POST /devices/{device_id}/commands/{id}."""

    id: int
    method: str
    params: JsonValue


class CommandReplyIn(RequestModel):
    device_token: DeviceToken | None = Field(None, description="Or send `Authorization: Bearer <token>`.")
    result: AnyJson = Field(description="The command's result: any JSON.")


class CommandReplyOut(BaseModel):
    id: int
    status: Literal["answered"]
