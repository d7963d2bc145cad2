"""Provisioning keys (api/provisioning.py) and the provisioning request devices send (device_api/)."""
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from webapp.core.clock import iso_ms
from webapp.schemas.common import RequestModel, Text, Timestamp

# What the firmware accepts for a key and a secret (firmware/lib/ThingsNXT/src/Provisioning.cpp).
ProvisioningCredential = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
KeyName = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ProvisionIn(RequestModel):
    provisioning_key: ProvisioningCredential
    provisioning_secret: ProvisioningCredential
    hardware_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$"), Field(description="The board's WiFi MAC, 12 lowercase hex characters.")]
    name: KeyName | None = Field(None, description="The new device's name; default: the key's name and the hardware id.")


class ProvisionedOut(BaseModel):
    device_id: str
    device_token: str = Field(description="Store it: only its hash is kept. A token issued earlier to the same board is refused from now on.")


class ProvisioningKeyCreateIn(RequestModel):
    name: KeyName
    max_devices: Annotated[int, Field(ge=1, le=1_000_000, description="How many devices the key may create.")]
    expires_at: Annotated[str, StringConstraints(max_length=40)] | int | None = Field(
        None, description="When boards stop being accepted: ISO-8601, Unix seconds or milliseconds; null: never."
    )


class ProvisioningKeyOut(BaseModel):
    id: int
    name: str
    key: str = Field(description="Not a secret by itself: boards send it with the secret.")
    max_devices: int
    devices_created: int
    status: Literal["active", "expired", "used_up"]
    expires_at: Timestamp | None
    created_at: Timestamp
    last_used_at: Timestamp | None
    refused_count: int = Field(description="Attempts with this key refused: wrong secret, expired, used up.")

    @classmethod
    def of(cls, key, now_ms, **extra):
        if key.expires_ms is not None and key.expires_ms <= now_ms:
            status = "expired"
        elif key.devices_created >= key.max_devices:
            status = "used_up"
        else:
            status = "active"
        return cls(
            id=key.id,
            name=key.name,
            key=key.key,
            max_devices=key.max_devices,
            devices_created=key.devices_created,
            status=status,
            expires_at=iso_ms(key.expires_ms),
            created_at=iso_ms(key.created_ms),
            last_used_at=iso_ms(key.last_used_ms),
            refused_count=key.refused_count,
            **extra,
        )


class ProvisioningKeyCreatedOut(ProvisioningKeyOut):
    secret: str = Field(description="Shown once; only its hash is kept.")


class ProvisioningKeyListOut(BaseModel):
    keys: list[ProvisioningKeyOut]


class ProvisionedDeviceOut(BaseModel):
    device_id: str
    name: str
    hardware_id: str
    created_at: Timestamp
    provisioned_at: Timestamp = Field(description="The latest provisioning (a new token each time).")
    times: int

    @classmethod
    def of(cls, provisioned, device):
        return cls(
            device_id=device.id,
            name=device.name,
            hardware_id=provisioned.hardware_id,
            created_at=iso_ms(provisioned.created_ms),
            provisioned_at=iso_ms(provisioned.provisioned_ms),
            times=provisioned.times,
        )


class ProvisioningRefusalOut(BaseModel):
    at: Timestamp
    reason: Literal["wrong_secret", "expired", "used_up"]
    hardware_id: str | None
    source_ip: str | None

    @classmethod
    def of(cls, refusal):
        return cls(at=iso_ms(refusal.at_ms), reason=refusal.reason, hardware_id=refusal.hardware_id, source_ip=refusal.source_ip)


class ProvisioningKeyDetailOut(ProvisioningKeyOut):
    devices: list[ProvisionedDeviceOut]
    refusals: list[ProvisioningRefusalOut] = Field(description="The latest refusals, newest first.")
