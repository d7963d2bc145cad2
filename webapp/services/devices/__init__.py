"""Devices: registering them and their tokens (registry.py), their state (state.py), presence,
security rules and dashboard widgets."""
