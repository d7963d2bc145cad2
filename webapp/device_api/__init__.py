"""The API devices call: telemetry in, state out, health (handlers.py); the busiest routes also on the fast path (fast_path.py).

Device URLs never change: firmware in the field hard-codes them.
"""
from webapp.device_api import handlers  # noqa: F401  (the handlers register on routes)
from webapp.device_api.blueprint import bp, routes  # noqa: F401
