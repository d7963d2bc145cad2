"""Other platforms' device APIs, so a fleet moves here by changing one host name: ThingsBoard's and Blynk's.

Each transport is a device blueprint (http/device_routes.py) whose handlers
parse their platform's request, make one service call (the same services
our own device API calls: one ingest, one state, one set of rules and rate
limits) and answer in their platform's shape, errors included. They are not
in /openapi.json: their contract is their platform's (docs/MIGRATING.md).
"""
from webapp.transports import blynk, thingsboard  # noqa: F401
