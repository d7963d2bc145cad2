"""Over-the-air updates: firmware images, updates per device, rollouts (api/ota.py), and what devices get and report (device_api/)."""
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from webapp.core.clock import iso_ms
from webapp.schemas.common import DeviceId, DeviceToken, RequestModel, Timestamp

Sha256 = Annotated[str, Field(description="The image's SHA-256, lowercase hex: also its ETag and the last part of its URL.")]
UpdateStatus = Literal["staged", "assigned", "downloading", "verifying", "applied", "booted", "failed", "rolled_back", "cancelled"]
RolloutStatus = Literal["active", "paused", "done", "cancelled"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"^[^\x00-\x1f]*$")]


class FirmwareIn(RequestModel):
    """The form fields of an upload, beside `file` (the image)."""

    title: Annotated[Text, StringConstraints(max_length=64)]
    version: Annotated[Text, StringConstraints(max_length=32)]


class FirmwareOut(BaseModel):
    id: int
    title: str
    version: str
    size: int = Field(description="Bytes.")
    sha256: Sha256
    created_at: Timestamp

    @classmethod
    def of(cls, image):
        return cls(id=image.id, title=image.title, version=image.version, size=image.size, sha256=image.sha256, created_at=iso_ms(image.created_ms))


class FirmwareListOut(BaseModel):
    firmware: list[FirmwareOut]


class OtaAssignIn(RequestModel):
    firmware_id: int


class OtaUpdateOut(BaseModel):
    id: int
    device_id: str
    firmware_id: int
    title: str
    version: str
    size: int
    sha256: Sha256
    rollout_id: int | None
    status: UpdateStatus = Field(
        description="staged (waits for its rollout's first stage) → assigned → downloading → verifying → applied → booted; "
        "or failed, rolled_back (the old version booted after applied), cancelled."
    )
    bytes: int = Field(description="Bytes the device reported downloaded.")
    from_version: str | None = Field(description="The version the device reported (its health report's fw) when the update was assigned.")
    reason: str | None = Field(description="Why it failed or rolled back.")
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, described):
        """An update as services/ota/updates.py describes it."""
        return cls(**described)


class DeviceOtaOut(BaseModel):
    update: OtaUpdateOut | None = Field(description="The latest update, in progress or finished; null before the first.")
    history: list[OtaUpdateOut] = Field(description="The device's updates, newest first (the latest 20).")


class OtaOffer(BaseModel):
    """An update on offer: download `url` (with the device token; Range requests resume), check `size` and `sha256`, apply, report."""

    title: str
    version: str
    size: int
    sha256: Sha256
    url: str = Field(description="The image's path on this server: /devices/{device_id}/firmware/{sha256}.")


class OtaStatusIn(RequestModel):
    device_token: DeviceToken | None = Field(None, description="Or send `Authorization: Bearer <token>`.")
    state: Literal["downloading", "verifying", "applied", "booted", "failed"]
    bytes: Annotated[int, Field(ge=0)] | None = Field(None, description="With downloading: bytes received so far.")
    version: Annotated[str, StringConstraints(max_length=32)] | None = Field(None, description="With booted: the version now running.")
    reason: Annotated[str, StringConstraints(max_length=500)] | None = Field(None, description="With failed: why.")

    @model_validator(mode="after")
    def _what_each_state_carries(self):
        needed = {"downloading": ("bytes", self.bytes), "booted": ("version", self.version), "failed": ("reason", self.reason)}.get(self.state)
        if needed is not None and needed[1] is None:
            raise ValueError(f"state {self.state} comes with {needed[0]}")
        return self


class OtaStatusOut(BaseModel):
    status: UpdateStatus
    bytes: int


class RolloutIn(RequestModel):
    firmware_id: int
    device_ids: Annotated[list[DeviceId], Field(min_length=1, max_length=10000)] | None = Field(
        None, description="The devices to update; left out: every device you own."
    )
    stage_percent: Annotated[int, Field(ge=1, le=100)] = Field(
        100, description="The share of the devices updated first (at least one); the rest once all of those have finished."
    )


class RolloutUpdateIn(RequestModel):
    status: Literal["active", "paused", "cancelled"] = Field(description="paused, active (resume: also offers the next stage), or cancelled.")


class RolloutOut(BaseModel):
    id: int
    firmware_id: int
    stage_percent: int
    status: RolloutStatus = Field(description="A failure or rollback in it pauses it.")
    created_at: Timestamp
    updates: list[OtaUpdateOut] = Field(description="One per device.")

    @classmethod
    def of(cls, rollout, updates):
        return cls(
            id=rollout.id,
            firmware_id=rollout.firmware_id,
            stage_percent=rollout.stage_percent,
            status=rollout.status,
            created_at=iso_ms(rollout.created_ms),
            updates=[OtaUpdateOut.of(update) for update in updates],
        )


class RolloutListOut(BaseModel):
    rollouts: list[RolloutOut]
