"""Alert rules on a device's keys and the device's alert history (api/alerts.py, the device page's form)."""
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from webapp.core import values
from webapp.core.clock import iso_ms
from webapp.schemas.common import Key, RequestModel, Timestamp, Value, omittable

AlertCondition = Literal[">", "<", "=", "outside", "no_data"]
ALERT_CONDITIONS = (">", "<", "=", "outside", "no_data")
LONGEST_WAIT = 7 * 86400


class AlertRuleIn(RequestModel):
    key: Key = Field(description="The key the rule watches, e.g. temperature or v0.")
    condition: AlertCondition = Field(
        description="`>`, `<` or `=` compare each reading with `value`; `outside` is below `low` or above `high`; "
        "`no_data`: the key has sent nothing for `for_seconds`."
    )
    value: Value | None = omittable()
    low: float | None = omittable()
    high: float | None = omittable()
    for_seconds: int = Field(
        0,
        ge=0,
        le=LONGEST_WAIT,
        description="How long the condition must hold before the alert is raised (0: at the first reading that meets it); "
        "for `no_data`, the silence that raises it (at least 1).",
    )

    @model_validator(mode="after")
    def _fits_its_condition(self):
        condition = self.condition
        if condition in (">", "<") and (self.value is None or values.numeric(self.value) is None or isinstance(self.value, bool)):
            raise ValueError(f"condition '{condition}' needs a number as value")
        if condition == "=" and self.value is None:
            raise ValueError("condition '=' needs a value")
        if condition == "outside" and (self.low is None or self.high is None or self.low >= self.high):
            raise ValueError("condition 'outside' needs low and high, low below high")
        if condition == "no_data" and self.for_seconds < 1:
            raise ValueError("condition 'no_data' needs for_seconds of at least 1")
        return self


class AlertRuleOut(BaseModel):
    id: int
    device_id: str
    key: str
    condition: AlertCondition
    value: Value | None
    low: float | None
    high: float | None
    for_seconds: int
    description: str = Field(description="The rule in words, as notifications and the dashboard name it: `temperature > 30 for 60 s`.")
    state: Literal["ok", "pending", "active"] = Field(description="pending: met, for less than for_seconds so far; active: raised.")
    since: Timestamp | None = Field(description="When the state began (pending or active); null when ok.")
    last_value: Value | None = Field(description="The newest reading of the key the rule has seen.")
    created_at: Timestamp

    @classmethod
    def of(cls, rule):
        """A services.alerts.rules.AlertView."""
        return cls(
            id=rule.id,
            device_id=rule.device_id,
            key=rule.key,
            condition=rule.condition,
            value=rule.threshold,
            low=rule.low,
            high=rule.high,
            for_seconds=rule.for_seconds,
            description=rule.description,
            state=rule.state,
            since=iso_ms(rule.since_ms) if rule.state != "ok" else None,
            last_value=rule.last_value,
            created_at=iso_ms(rule.created_ms),
        )


class AlertRuleListOut(BaseModel):
    rules: list[AlertRuleOut]


class AlertEventOut(BaseModel):
    rule_id: int
    kind: Literal["raised", "cleared"]
    description: str
    value: Value | None = Field(description="The reading that raised or cleared it; null for an alert raised for want of data.")
    at: Timestamp

    @classmethod
    def of(cls, event):
        """A models.AlertEvent."""
        return cls(rule_id=event.rule_id, kind=event.kind, description=event.description, value=values.decode(event.value), at=iso_ms(event.at_ms))


class AlertHistoryOut(BaseModel):
    events: list[AlertEventOut] = Field(description="Newest first.")
