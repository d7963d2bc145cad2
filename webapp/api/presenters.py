"""Domain objects as the JSON the API documents."""
from webapp.services import rules as rules_service
from webapp.services.clock import iso_ms


def device_json(device, view):
    return {
        "device_id": device.id,
        "name": device.name,
        "owner": device.owner.email,
        "status": device.status,
        "last_seen": iso_ms(device.last_seen_ms),
        "offline_timeout": device.offline_timeout,
        "disabled": device.disabled,
        "denied_count": device.denied_count,
        "retention_days": device.retention_days,
        "token_prefix": device.token_prefix,
        "created_at": iso_ms(device.created_ms),
        "data": view.data,
    }


def rules_json(device, rules):
    return {
        "device_id": device.id,
        "disabled": device.disabled,
        "denied_count": device.denied_count,
        "rules": [rules_service.describe_rule(rule) for rule in rules],
    }
