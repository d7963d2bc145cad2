"""Fixtures for the firmware tests: the host build of the firmware as a device
(the server is tests/conftest.py's `live_server`)."""

import pytest

from .host_device import HostDevice, build_host_device

# Intervals for tests that run a device for a few seconds: fast, yet each
# test stays well inside the server's default rate limit of 100 requests per
# 60 s per device (a 429 would hold the device for Retry-After). Long-polls
# are off unless a test asks: a held request would slow the server's stop().
FAST_SETTINGS = {
    "telemetry_ms": 250,
    "poll_ms": 1000,
    "health_ms": 60000,
    "long_poll_s": 0,
    "timeout_ms": 5000,
    "backoff_base_ms": 200,
    "backoff_cap_ms": 1600,
    "batch": 5,
}


@pytest.fixture(scope="session")
def host_device_program():
    return build_host_device()


@pytest.fixture
def start_device(host_device_program):
    """start_device(server, credentials, **settings) -> HostDevice; settings
    are the program's flags (telemetry_ms=…), over FAST_SETTINGS; empty
    credentials for a device that provisions itself with a fleet key."""
    devices = []

    def start(server, credentials: dict, **settings) -> HostDevice:
        args = ["--url", server.url]
        if credentials:  # none: the device provisions itself (settings provisioning_key=…, provisioning_secret=…)
            args += ["--id", credentials["device_id"], "--token", credentials["device_token"]]
        args += ["--debug", "2", "--seed", "7"]
        for name, value in {**FAST_SETTINGS, **settings}.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        device = HostDevice(host_device_program, args)
        devices.append(device)
        return device

    yield start
    for device in devices:
        device.stop()

