"""Alerts: threshold and "no data" rules on a device's keys (rules.py), the state each is in and the
transitions readings and time make (evaluation.py), in words (conditions.py). docs/ALERTS.md says how they behave."""
