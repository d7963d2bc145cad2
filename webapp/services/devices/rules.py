"""Security rules: what a device may report, and from where.

A device's rules are checked on every ingest (services/ingest/telemetry.py):
`first_denial` says whether one refuses the request, `record_denial` counts
it on the rule and the device and tells the owner, and the request is
answered with 403 naming the rule.
"""
import ipaddress
from dataclasses import dataclass

import orjson
from sqlalchemy import delete, select, update

from webapp.core import values
from webapp.core.clock import now_ms
from webapp.core.errors import InvalidRequest
from webapp.extensions import db
from webapp.models import Device, Rule
from webapp.services import events
from webapp.services.directory import directory

DEVICE_DISABLED = "device_disabled"


def replace_rules(device, rules):
    """Replace the device's rules by `rules` (validated schemas.RuleIn models), in order."""
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names) or DEVICE_DISABLED in names:
        raise InvalidRequest(f"Rule names must be unique and not '{DEVICE_DISABLED}'.")
    db.session.execute(delete(Rule).where(Rule.device_id == device.id))
    for position, rule in enumerate(rules):
        params = rule.model_dump(exclude={"name", "type"})
        db.session.add(
            Rule(device_id=device.id, position=position, name=rule.name, type=rule.type, params=orjson.dumps(params).decode(), denied_count=0)
        )
    db.session.commit()
    directory().device_changed(device.id)
    return device_rules(device.id)


def device_rules(device_id):
    return db.session.scalars(select(Rule).where(Rule.device_id == device_id).order_by(Rule.position)).all()


@dataclass(frozen=True, slots=True)
class Denial:
    rule_id: int | None  # None for the built-in "device_disabled"
    rule: str
    reason: str


def first_denial(device, readings, source_ip):
    """The Denial of the first rule of `device` (a cached identity) that refuses one of `readings`, or None."""
    if device.disabled:
        return Denial(None, DEVICE_DISABLED, "the device is disabled.")
    for rule in directory().rules(device.id):
        reason = _CHECKS[rule.type](rule.params, readings, source_ip)
        if reason is not None:
            return Denial(rule.id, rule.name, reason)
    return None


def record_denial(device_id, denial):
    """Count the denial on the device and its rule, and tell the owner, dashboards and webhooks."""
    db.session.rollback()
    db.session.execute(update(Device).where(Device.id == device_id).values(denied_count=Device.denied_count + 1))
    if denial.rule_id is not None:
        db.session.execute(update(Rule).where(Rule.id == denial.rule_id).values(denied_count=Rule.denied_count + 1))
    events.emit(events.rule_denied(device_id, denial.rule, denial.reason, now_ms()))


def _check_allowed_keys(params, readings, source_ip):
    allowed = set(params["keys"])
    for data in readings:
        unknown = sorted(set(data) - allowed)
        if unknown:
            return f"key '{unknown[0]}' is not allowed."
    return None


def _check_range(params, readings, source_ip):
    key, low, high = params["key"], params.get("min"), params.get("max")
    for data in readings:
        if key not in data:
            continue
        number = values.numeric(data[key])
        if number is None:
            return f"'{key}' must be a number."
        if (low is not None and number < low) or (high is not None and number > high):
            return f"'{key}' = {data[key]} is outside [{_bound(low, '-inf')}, {_bound(high, 'inf')}]."
    return None


def _check_source_network(params, readings, source_ip):
    if source_ip is None:
        return "the source address is unknown (over MQTT the broker does not pass it on)."
    try:
        address = ipaddress.ip_address(source_ip)
        address = getattr(address, "ipv4_mapped", None) or address
    except ValueError:
        return f"source address '{source_ip}' is not an IP address."
    networks = [ipaddress.ip_network(network, strict=False) for network in params["networks"]]
    if not any(address in network for network in networks):
        return f"source address {address} is not in an allowed network."
    return None


def _bound(value, unbounded):
    return unbounded if value is None else value


_CHECKS = {
    "allowed_keys": _check_allowed_keys,
    "range": _check_range,
    "source_network": _check_source_network,
}
