"""Device health: the latest `device` report each device sent (the ingest writer stores it), and what is worth a warning.

A reset by the watchdog, a panic or a brownout means the device rebooted
itself; a weak signal or little memory left (the lowest free heap since boot)
is flagged on its overview card (thresholds HEALTH_WEAK_RSSI, HEALTH_LOW_HEAP_BYTES).
"""
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from webapp.core import values
from webapp.extensions import db
from webapp.models import DeviceHealth

SELF_INFLICTED_RESETS = frozenset({"watchdog", "panic", "brownout"})


@dataclass(frozen=True)
class HealthView:
    report: dict
    reported_ms: int

    @property
    def rebooted_itself(self):
        return self.report.get("reset_reason") in SELF_INFLICTED_RESETS

    @property
    def weak_signal(self):
        rssi = self.report.get("rssi")
        return rssi is not None and rssi <= current_app.config["HEALTH_WEAK_RSSI"]

    @property
    def low_memory(self):
        lowest = self.report.get("heap_min", self.report.get("heap_free"))
        return lowest is not None and lowest < current_app.config["HEALTH_LOW_HEAP_BYTES"]

    @property
    def warnings(self):
        """What the overview card flags, in words."""
        return [text for flagged, text in ((self.weak_signal, "weak signal"), (self.low_memory, "low memory")) if flagged]


def health_of(device_ids):
    """{device_id: HealthView} of those devices that ever reported."""
    if not device_ids:
        return {}
    rows = db.session.execute(select(DeviceHealth.device_id, DeviceHealth.report, DeviceHealth.reported_ms).where(DeviceHealth.device_id.in_(list(device_ids))))
    return {device_id: HealthView(values.decode(report), reported_ms) for device_id, report, reported_ms in rows}


def device_health(device_id):
    return health_of([device_id]).get(device_id)
