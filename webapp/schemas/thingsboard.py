"""ThingsBoard's device HTTP API as it is sent and answered (transports/thingsboard/)."""
from typing import Annotated, Literal

from pydantic import BaseModel, Field, JsonValue, RootModel, StringConstraints

from webapp.schemas.common import MAX_KEYS, AnyJson, Key, RequestModel, Text, Value
from webapp.schemas.device_api import ReadingTs

# ThingsBoard's clients send null for what they do not know (TBHTTPDevice.get_firmware_update: the current
# firmware before there is one): a null value stores nothing, rather than refusing the whole request.
TbData = Annotated[dict[Key, Value | None], Field(max_length=MAX_KEYS, json_schema_extra={"additionalProperties": False})]


class TbTimedValues(RequestModel):
    ts: ReadingTs
    values: TbData


# A flat object is the readings themselves; `{"ts", "values"}` readings at a time. Tried in that order:
# a flat reading whose keys happen to be "ts" and "values" has no object as values, so it fails the first.
TbRecord = Annotated[TbTimedValues | TbData, Field(union_mode="left_to_right")]


def _known(values):
    return {key: value for key, value in values.items() if value is not None}


class TbTelemetryIn(RootModel[TbRecord | list[TbRecord]]):
    def records(self):
        """(ts as sent or None, data without its nulls) of every reading, in order."""
        entries = self.root if isinstance(self.root, list) else [self.root]
        return [(entry.ts, _known(entry.values)) if isinstance(entry, TbTimedValues) else (None, _known(entry)) for entry in entries]


class TbAttributesIn(RootModel[TbData]):
    @property
    def data(self):
        return _known(self.root)


class TbRpcReplyIn(RootModel[AnyJson]):
    pass


class TbClientRpcIn(RequestModel):
    method: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    params: AnyJson = None


class TbProvisionIn(RequestModel):
    """The device name is the board's identity under the key: provisioning it again gives the same device a new token."""

    device_name: Annotated[Text, StringConstraints(min_length=1, max_length=100)] = Field(alias="deviceName")
    key: Annotated[str, StringConstraints(max_length=128)] = Field(alias="provisionDeviceKey")
    secret: Annotated[str, StringConstraints(max_length=128)] = Field(alias="provisionDeviceSecret")


class TbProvisionOut(BaseModel):
    status: Literal["SUCCESS", "NOT_FOUND", "FAILURE"]
    credentials_type: Literal["ACCESS_TOKEN"] | None = Field(None, serialization_alias="credentialsType")
    credentials_value: str | None = Field(None, serialization_alias="credentialsValue")
    error_msg: str | None = Field(None, serialization_alias="errorMsg")


class TbAttributesOut(BaseModel):
    client: dict[str, JsonValue] | None = None
    shared: dict[str, JsonValue] | None = None


class TbRpcRequestOut(BaseModel):
    id: int
    method: str
    params: JsonValue


class TbErrorOut(BaseModel):
    status: int
    message: str


class TbTime(RootModel[int]):
    pass


class TbAttributeChangesOut(RootModel[dict[str, JsonValue]]):
    """The changed shared attributes, and `deleted`: those no longer set (a pin given back to the device)."""
