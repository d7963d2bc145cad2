"""Security rules: what a device may report, and from where.

A device's rules are checked on every ingest. A denial is counted on the
rule and the device, published for notifications, and answered with 403
naming the rule.
"""
import ipaddress

import orjson
from sqlalchemy import delete, select, update

from webapp.errors import InvalidRequest, RuleDenied
from webapp.extensions import db
from webapp.models import Device, Rule
from webapp.realtime import events
from webapp.services import notifications, values, webhooks
from webapp.services.device_directory import directory
from webapp.services.clock import now_ms

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


def describe_rule(rule):
    return {"name": rule.name, "type": rule.type, "params": orjson.loads(rule.params), "denied_count": rule.denied_count}


def enforce_rules(device, readings, source_ip):
    """Raise RuleDenied, after counting it, if any rule of `device` refuses one of `readings`."""
    denial = _first_denial(device, readings, source_ip)
    if denial is None:
        return
    rule_id, name, reason = denial
    db.session.rollback()
    db.session.execute(update(Device).where(Device.id == device.id).values(denied_count=Device.denied_count + 1))
    if rule_id is not None:
        db.session.execute(update(Rule).where(Rule.id == rule_id).values(denied_count=Rule.denied_count + 1))
    now = now_ms()
    queued = webhooks.enqueue_rule_denied(db.session.connection(), device.id, name, reason, now)
    db.session.commit()
    if queued:
        webhooks.wake_delivery()
    events.publish_rule_denied(device.id, name, reason, now)
    notifications.notify_owner(device.id, "rule_denied", f"was denied by rule '{name}': {reason}", now)
    raise RuleDenied(f"Denied by rule '{name}': {reason}", rule=name)


def _first_denial(device, readings, source_ip):
    if device.disabled:
        return None, DEVICE_DISABLED, "the device is disabled."
    for rule in directory().rules(device.id):
        reason = _CHECKS[rule.type](rule.params, readings, source_ip)
        if reason is not None:
            return rule.id, rule.name, reason
    return None


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
