"""Webhooks as their owners manage them, and their delivery attempts (api/webhooks.py)."""
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints

from webapp.core.clock import iso_ms
from webapp.schemas.common import RequestModel, Timestamp

WebhookEvent = Literal["telemetry", "online", "offline", "rule_denied", "alert_raised", "alert_cleared", "ota"]
WEBHOOK_EVENTS = get_args(WebhookEvent)
WebhookEvents = Annotated[list[WebhookEvent], Field(min_length=1, max_length=len(WEBHOOK_EVENTS), description="The events to send.")]
WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]


class WebhookCreateIn(RequestModel):
    url: WebhookUrl = Field(description="http(s) URL of a public host (private addresses only with WEBHOOK_ALLOW_PRIVATE=1).")
    events: WebhookEvents
    secret: Annotated[str, StringConstraints(min_length=16, max_length=256)] | None = Field(
        None, description="The signing secret; generated when omitted. Returned once, in this response."
    )


class WebhookUpdateIn(RequestModel):
    url: WebhookUrl | None = None
    events: WebhookEvents | None = None
    enabled: bool | None = Field(None, description="true re-enables a webhook disabled after failing, clearing its failures.")


class WebhookOut(BaseModel):
    id: int
    device_id: str
    url: str
    events: list[WebhookEvent]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int = Field(description="Failed attempts since the last success.")
    failing_since: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, webhook, **extra):
        return cls(
            id=webhook.id,
            device_id=webhook.device_id,
            url=webhook.url,
            events=webhook.event_names,
            enabled=webhook.enabled,
            disabled_reason=webhook.disabled_reason,
            consecutive_failures=webhook.consecutive_failures,
            failing_since=iso_ms(webhook.failing_since_ms),
            created_at=iso_ms(webhook.created_ms),
            **extra,
        )


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Shown once: verify X-ThingsNXT-Signature with it.")


class WebhookListOut(BaseModel):
    webhooks: list[WebhookOut]


class WebhookAttemptOut(BaseModel):
    webhook_id: int
    delivery_id: str = Field(description="The X-ThingsNXT-Delivery header: the same on every attempt of one event.")
    event: WebhookEvent
    attempt: int = Field(description="1 for the first attempt of this delivery.")
    attempted_at: Timestamp
    duration_ms: int
    status_code: int | None = Field(description="The receiver's HTTP status; null when no response came.")
    ok: bool
    error: str | None
    delivery_status: Literal["pending", "delivered", "failed"] = Field(description="failed: given up after the retry window, or the webhook was disabled.")
    next_attempt_at: Timestamp | None

    @classmethod
    def of(cls, attempt, delivery):
        """An attempt (models.WebhookAttempt) and where its delivery (models.WebhookDelivery) stands now."""
        return cls(
            webhook_id=attempt.webhook_id,
            delivery_id=delivery.uid,
            event=delivery.event,
            attempt=attempt.number,
            attempted_at=iso_ms(attempt.attempted_ms),
            duration_ms=attempt.duration_ms,
            status_code=attempt.status_code,
            ok=attempt.ok,
            error=attempt.error,
            delivery_status=delivery.status,
            next_attempt_at=iso_ms(delivery.next_attempt_ms),
        )


class WebhookAttemptsOut(BaseModel):
    attempts: list[WebhookAttemptOut]
