"""A user's notifications (api/notifications.py, the dashboard, and the live notification events)."""
from typing import Annotated

from pydantic import BaseModel, Field

from webapp.core.clock import iso_ms
from webapp.schemas.common import RequestModel, RowId, Timestamp


class NotificationOut(BaseModel):
    id: int
    device_id: str | None
    kind: str = Field(description="online, offline, rule_denied, alert, alert_cleared or webhook_failing.")
    message: str
    muted_count: int = Field(description="Repeats within the cooldown that were not notified separately.")
    grouped_count: int = Field(
        0, description="A summary (device_id null): how many devices' notifications of its kind were folded into it; 0 otherwise."
    )
    created_at: Timestamp
    read: bool

    @classmethod
    def of(cls, notification):
        return cls(
            id=notification.id,
            device_id=notification.device_id,
            kind=notification.kind,
            message=notification.message,
            muted_count=notification.muted_count,
            grouped_count=notification.grouped_count,
            created_at=iso_ms(notification.created_ms),
            read=notification.read_ms is not None,
        )


class NotificationListOut(BaseModel):
    notifications: list[NotificationOut]
    unread_count: int


class NotificationsReadIn(RequestModel):
    ids: Annotated[list[RowId], Field(max_length=1000)] | None = Field(None, description="The notifications to mark read; all when omitted.")


class NotificationsReadOut(BaseModel):
    marked: int
    unread_count: int
