"""Alert rules as their owners manage them, the alerts active on devices, and a device's alert history.

Adding or removing a rule tells the device directory, so that every worker's
ingest starts (or stops) evaluating the device's readings against its rules.
"""
from dataclasses import dataclass

from sqlalchemy import select

from webapp.core import values
from webapp.core.clock import now_ms
from webapp.core.errors import NotFound
from webapp.extensions import db
from webapp.models import AlertEvent, AlertRule
from webapp.services import events
from webapp.services.alerts import conditions
from webapp.services.devices import registry as devices
from webapp.services.directory import directory

HISTORY_LIMIT = 50


@dataclass(frozen=True, slots=True)
class AlertView:
    """A rule and the state it is in, values decoded; holds no database session."""

    id: int
    device_id: str
    key: str
    condition: str
    threshold: object
    low: float | None
    high: float | None
    for_seconds: int
    state: str
    since_ms: int | None
    last_value: object
    created_ms: int

    @property
    def description(self):
        return conditions.describe(self.key, self.condition, self.threshold, self.low, self.high, self.for_seconds)


def view_of(rule):
    """An AlertView of a models.AlertRule, or of a row with its columns."""
    return AlertView(
        rule.id, rule.device_id, rule.key, rule.condition, values.decode(rule.threshold), rule.low, rule.high,
        rule.for_seconds, rule.state, rule.since_ms, values.decode(rule.last_value), rule.created_ms,
    )


def add_rule(user, device_id, spec):
    """A new rule (a schemas.AlertRuleIn) on a device `user` may see. It starts `ok`: the next reading is judged."""
    device = devices.visible_device(user, device_id)
    rule = AlertRule(
        device_id=device.id,
        key=spec.key,
        condition=spec.condition,
        threshold=None if spec.condition in ("outside", "no_data") else values.encode(spec.value),
        low=spec.low if spec.condition == "outside" else None,
        high=spec.high if spec.condition == "outside" else None,
        for_seconds=spec.for_seconds,
        state="ok",
        created_ms=now_ms(),
    )
    db.session.add(rule)
    db.session.flush()
    view = view_of(rule)
    _rules_changed(device.id)
    return view


def remove_rule(user, device_id, rule_id):
    """Delete a rule; an alert it had raised ends with it (its history stays)."""
    device = devices.visible_device(user, device_id)
    rule = db.session.get(AlertRule, rule_id)
    if rule is None or rule.device_id != device.id:
        raise NotFound(f"No alert rule with id {rule_id} on this device.")
    db.session.delete(rule)
    _rules_changed(device.id)


def device_rules(user, device_id):
    """The rules of a device `user` may see, oldest first."""
    device = devices.visible_device(user, device_id)
    return rules_of(device.id)


def rules_of(device_id):
    return [view_of(rule) for rule in db.session.scalars(select(AlertRule).where(AlertRule.device_id == device_id).order_by(AlertRule.id))]


def active_alerts(device_ids):
    """The raised alerts of these devices: {device_id: [AlertView, …]} (every id present)."""
    found = {device_id: [] for device_id in device_ids}
    if found:
        query = select(AlertRule).where(AlertRule.device_id.in_(found), AlertRule.state == "active").order_by(AlertRule.id)
        for rule in db.session.scalars(query):
            found[rule.device_id].append(view_of(rule))
    return found


def history(user, device_id, limit=HISTORY_LIMIT):
    """The alerts a device `user` may see raised and cleared, newest first."""
    device = devices.visible_device(user, device_id)
    return history_of(device.id, limit)


def history_of(device_id, limit=HISTORY_LIMIT):
    query = select(AlertEvent).where(AlertEvent.device_id == device_id).order_by(AlertEvent.id.desc()).limit(limit)
    return db.session.scalars(query).all()


def _rules_changed(device_id):
    """Commit; open device pages redraw the rules, and every worker's ingest learns whether to evaluate the device."""
    events.emit(events.alert_rules_changed(device_id))
    directory().device_changed(device_id)
