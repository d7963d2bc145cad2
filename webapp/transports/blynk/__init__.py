"""Blynk's device HTTP API (/external/api/…, and the legacy server's /{token}/…): virtual pins V0…V255 are our v0…v255."""
from webapp.transports.blynk import handlers  # noqa: F401  (the handlers register on routes)
from webapp.transports.blynk.blueprint import bp  # noqa: F401
